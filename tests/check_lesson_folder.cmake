# ctest course.lesson_folder: a lesson folder with only a main.cpp (lessons/99_probe) must stop
# configure with a message that names every missing file; a complete folder must pass.
#   cmake -DSOURCE_DIR=repo -DWORKDIR=scratch -P check_lesson_folder.cmake
include(${SOURCE_DIR}/cmake/CourseLesson.cmake)
file(REMOVE_RECURSE ${WORKDIR})
file(MAKE_DIRECTORY ${WORKDIR}/99_probe)
file(WRITE ${WORKDIR}/99_probe/main.cpp "int main() {}\n")
file(WRITE ${WORKDIR}/driver.cmake
     "include(${SOURCE_DIR}/cmake/CourseLesson.cmake)\n"
     "course_check_lesson_folder(\${NAME} \${DIR})\n")

function(run_check name dir result_var output_var)
  execute_process(COMMAND ${CMAKE_COMMAND} -DNAME=${name} -DDIR=${dir} -P ${WORKDIR}/driver.cmake
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  set(${result_var} ${rc} PARENT_SCOPE)
  set(${output_var} "${out}" PARENT_SCOPE)
endfunction()

run_check(99_probe ${WORKDIR}/99_probe rc out)
string(REGEX REPLACE "[ \n]+" " " out "${out}")  # CMake wraps long messages
if(rc EQUAL 0)
  message(FATAL_ERROR "a folder with only main.cpp passed the lesson folder check")
endif()
if(NOT out MATCHES "lessons/99_probe has no ([^.]+\\.[a-z]+(, [^.]+\\.[a-z]+)*)\\.")
  message(FATAL_ERROR "the message does not say which files are missing:\n${out}")
endif()
set(named "${CMAKE_MATCH_1}")
if(NOT named STREQUAL "test.cpp, reference.py, golden.json, expected.txt, README.md")
  message(FATAL_ERROR "the message names '${named}' as missing")
endif()

foreach(file test.cpp reference.py golden.json expected.txt README.md)
  file(WRITE ${WORKDIR}/99_probe/${file} "")
endforeach()
run_check(99_probe ${WORKDIR}/99_probe rc out)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "a complete lesson folder failed the check:\n${out}")
endif()
run_check(99-Probe ${WORKDIR}/99_probe rc out)
if(rc EQUAL 0)
  message(FATAL_ERROR "a folder named 99-Probe passed the name check")
endif()
message("lesson folder check: a folder with only main.cpp is refused, naming the 5 missing files")
