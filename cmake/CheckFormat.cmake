# Fails when a tracked C++ file differs from what clang-format makes of it (.clang-format).
#   cmake -DCLANG_FORMAT=... -DSOURCE_DIR=... -P CheckFormat.cmake   (ctest runs it: format.check)
file(GLOB_RECURSE files RELATIVE ${SOURCE_DIR}
     ${SOURCE_DIR}/common/*.h ${SOURCE_DIR}/common/*.cpp ${SOURCE_DIR}/lessons/*.h
     ${SOURCE_DIR}/lessons/*.cpp ${SOURCE_DIR}/tests/*.h ${SOURCE_DIR}/tests/*.cpp
     ${SOURCE_DIR}/tests/*.cu ${SOURCE_DIR}/tools/*.cpp)
set(bad "")
foreach(file IN LISTS files)
  execute_process(COMMAND ${CLANG_FORMAT} --dry-run -Werror ${file}
                  WORKING_DIRECTORY ${SOURCE_DIR} RESULT_VARIABLE rc OUTPUT_QUIET ERROR_QUIET)
  if(NOT rc EQUAL 0)
    list(APPEND bad ${file})
  endif()
endforeach()
list(LENGTH files count)
if(bad)
  string(REPLACE ";" "\n  " bad "${bad}")
  message(FATAL_ERROR "not formatted (run clang-format -i on them):\n  ${bad}")
endif()
message("all ${count} C++ files formatted")
