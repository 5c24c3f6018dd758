# Graded exercises: lessons/NN_topic/exercises/ (docs/writing-a-lesson.md, "Exercises").
#
#   NN.K_name.cpp            the learner's file: the task in a header comment, a TODO body
#   solutions/NN.K_name.cpp  the same function, solved
#   hints/NN.K_name.md       what `./course hint NN.K` prints
#   grade/grade.cpp          GoogleTest, one suite per exercise (ExNN_K), against golden.json
#   golden.py, golden.json   the Python answers (golden.py writes golden.json)
#
# course_add_exercises() makes, for each lesson with an exercises/ folder:
#   exercises_NN_topic            grade.cpp with the learner's files (-I exercises/): what
#                                 `./course check` builds and runs
#   exercises_NN_topic_solutions  grade.cpp with the solutions (-I exercises/solutions/)
#   ctest exercise.NN.K.unsolved  the untouched exercise fails its grading: a reported failed
#                                 expectation, not a crash and not zero tests
#   ctest exercise.NN.K.solved    the solution passes it
# Two translation units per lesson, whatever its number of exercises: grade.cpp includes every
# exercise file of the lesson, and `#include "NN.K_name.cpp"` finds whichever folder is first on
# the include path (grade.cpp sits in its own folder, so its own folder never answers first).
include_guard(GLOBAL)

function(course_add_exercises)
  if(NOT COURSE_BUILD_TESTS)
    return()
  endif()
  find_package(Python3 REQUIRED COMPONENTS Interpreter)  # runs tests/exercise_grade.py
  # CONFIGURE_DEPENDS: a new exercise file re-runs CMake at the next build.
  file(GLOB graders CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/lessons/[0-9][0-9]_*/exercises/grade/grade.cpp)
  list(SORT graders)
  foreach(grader IN LISTS graders)
    get_filename_component(exercises_dir ${grader} DIRECTORY)
    get_filename_component(exercises_dir ${exercises_dir} DIRECTORY)
    get_filename_component(lesson_dir ${exercises_dir} DIRECTORY)
    get_filename_component(lesson ${lesson_dir} NAME)
    file(GLOB exercises CONFIGURE_DEPENDS ${exercises_dir}/[0-9][0-9].[0-9]*_*.cpp)
    list(SORT exercises)
    foreach(variant IN ITEMS exercises solutions)
      set(target exercises_${lesson})
      set(include_dir ${exercises_dir})
      if(variant STREQUAL "solutions")
        set(target exercises_${lesson}_solutions)
        set(include_dir ${exercises_dir}/solutions)
      endif()
      add_executable(${target} ${grader})
      target_include_directories(${target} PRIVATE ${include_dir} ${PROJECT_SOURCE_DIR}/lessons
                                                   ${lesson_dir})
      target_link_libraries(${target} PRIVATE course::test_support course::common
                            GTest::gtest_main course::warnings)
      course_use_pch(${target})
      if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
        target_compile_options(${target} PRIVATE $<$<CONFIG:Release>:-O1>)  # as course_add_gtest
      endif()
    endforeach()
    foreach(exercise IN LISTS exercises)
      get_filename_component(file ${exercise} NAME)
      string(REGEX MATCH "^([0-9][0-9])\\.([0-9]+)_" id ${file})
      set(id "${CMAKE_MATCH_1}.${CMAKE_MATCH_2}")
      set(suite "Ex${CMAKE_MATCH_1}_${CMAKE_MATCH_2}")
      if(NOT EXISTS ${exercises_dir}/solutions/${file})
        message(FATAL_ERROR "lessons/${lesson}/exercises/${file} has no solutions/${file}")
      endif()
      add_test(NAME exercise.${id}.unsolved
               COMMAND ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/tests/exercise_grade.py fails
                       $<TARGET_FILE:exercises_${lesson}> ${suite} ${exercise})
      add_test(NAME exercise.${id}.solved
               COMMAND ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/tests/exercise_grade.py passes
                       $<TARGET_FILE:exercises_${lesson}_solutions> ${suite})
      # 77: the learner has changed this exercise, so "untouched fails" cannot be shown here.
      set_tests_properties(exercise.${id}.unsolved exercise.${id}.solved
                           PROPERTIES LABELS unit SKIP_RETURN_CODE 77)
    endforeach()
  endforeach()
  # The machinery: check picks and advances, --reset restores, the compiler-error shortener.
  get_filename_component(preset ${CMAKE_BINARY_DIR} NAME)
  add_test(NAME course.exercise_commands
           COMMAND bash ${PROJECT_SOURCE_DIR}/tests/check_exercise_commands.sh ${PROJECT_SOURCE_DIR}
                   ${preset} ${CMAKE_RUNTIME_OUTPUT_DIRECTORY})
  set_tests_properties(course.exercise_commands PROPERTIES LABELS unit SKIP_RETURN_CODE 77)
endfunction()
