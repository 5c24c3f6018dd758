# add_lesson(): the one helper every lesson's CMakeLists.txt calls.
#
#   add_lesson(08_cnn
#     SOURCES cnn.cpp              # the lesson's own code, linked by main.cpp and by the tests
#     SMOKE_ARGS --smoke           # arguments for the ctest run of the lesson binary
#     LABELS slow                  # extra ctest labels for that run
#     SMOKE_SETUP script.py args   # a command ctest runs first (a fixture), e.g. to make data;
#                                  # a .py script runs with Python 3
#     SMOKE_ENV K=V)               # environment for the smoke run
#
# It makes:
#   lesson_08_cnn        a static library of SOURCES (skipped when there are none)
#   08_cnn               the executable from main.cpp, in build/<preset>/bin/
#   test_08_cnn          the GoogleTest suite tests/lessons/test_08_cnn.cpp, when it exists
#   ctest `lesson.08_cnn` runs the binary with SMOKE_ARGS from another directory and checks its
#                        output against the regular expressions in tests/expected/08_cnn.txt
include_guard(GLOBAL)

# One target owns the precompiled header; every other target reuses it (REUSE_FROM), so
# <torch/torch.h> is parsed once per build instead of once per source file.
function(course_use_pch target)
  if(COURSE_PCH)
    target_precompile_headers(${target} REUSE_FROM course_pch)
  endif()
endfunction()

function(add_lesson name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "" "SOURCES;SMOKE_ARGS;LABELS;SMOKE_SETUP;SMOKE_ENV")
  set(lib lesson_${name})
  set(libs course::common)
  if(arg_SOURCES)
    add_library(${lib} STATIC ${arg_SOURCES})
    target_include_directories(${lib} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
    target_link_libraries(${lib} PUBLIC course::common PRIVATE course::warnings)
    course_use_pch(${lib})
    set(libs ${lib})
  endif()

  add_executable(${name} main.cpp)
  target_link_libraries(${name} PRIVATE ${libs} course::warnings)
  course_use_pch(${name})

  if(COURSE_BUILD_TESTS)
    set(test_src ${PROJECT_SOURCE_DIR}/tests/lessons/test_${name}.cpp)
    if(EXISTS ${test_src})
      course_add_gtest(test_${name} ${test_src} LIBS ${libs})
    endif()
    set(expected ${PROJECT_SOURCE_DIR}/tests/expected/${name}.txt)
    if(EXISTS ${expected})
      # Run from a scratch directory, not the source or bin folder: a lesson must not depend on
      # the working directory.
      set(workdir ${CMAKE_BINARY_DIR}/test-workdir/${name})
      file(MAKE_DIRECTORY ${workdir})
      add_test(NAME lesson.${name}
        COMMAND ${CMAKE_COMMAND}
          # --out into the scratch folder: a test run never overwrites a learner's own outputs.
          -DBINARY=$<TARGET_FILE:${name}> "-DARGS=${arg_SMOKE_ARGS};--out;${workdir}/out"
          -DEXPECTED=${expected} -DWORKDIR=${workdir}
          -P ${PROJECT_SOURCE_DIR}/cmake/CheckLessonOutput.cmake)
      set_tests_properties(lesson.${name} PROPERTIES LABELS "lesson;${arg_LABELS}")
      if(arg_SMOKE_ENV)
        set_tests_properties(lesson.${name} PROPERTIES ENVIRONMENT "${arg_SMOKE_ENV}")
      endif()
      if(arg_SMOKE_SETUP)
        list(GET arg_SMOKE_SETUP 0 first)
        if(first MATCHES "\\.py$")
          find_package(Python3 REQUIRED COMPONENTS Interpreter)
          list(PREPEND arg_SMOKE_SETUP ${Python3_EXECUTABLE})
        endif()
        add_test(NAME lesson.${name}.setup COMMAND ${arg_SMOKE_SETUP})
        set_tests_properties(lesson.${name}.setup PROPERTIES FIXTURES_SETUP ${name}_data
                             LABELS "lesson")
        set_tests_properties(lesson.${name} PROPERTIES FIXTURES_REQUIRED ${name}_data)
      endif()
    endif()
  endif()
endfunction()

# course_add_gtest(name source LIBS libs...): one GoogleTest executable, discovered by ctest.
# Tests named *_CUDA call GTEST_SKIP() without a GPU; ctest then reports them as skipped.
function(course_add_gtest name source)
  cmake_parse_arguments(PARSE_ARGV 2 arg "" "" "LIBS;LABELS")
  add_executable(${name} ${source})
  target_link_libraries(${name} PRIVATE ${arg_LIBS} course::test_support GTest::gtest_main
                        course::warnings)
  course_use_pch(${name})
  set(labels unit ${arg_LABELS})
  # Prefixed with the executable's name, so `ctest -R 02_autograd` selects a lesson's unit tests.
  gtest_discover_tests(${name} TEST_PREFIX "${name}."
    DISCOVERY_MODE PRE_TEST  # list the tests when ctest runs, not at build time
    PROPERTIES LABELS "${labels}" SKIP_REGULAR_EXPRESSION "\\[  SKIPPED \\]")
endfunction()
