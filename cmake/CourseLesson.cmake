# The lessons: found by folder, each built and tested by one helper, add_lesson().
#
# A lesson is one folder lessons/NN_topic/ (docs/writing-a-lesson.md):
#   main.cpp       the story; its main() sits under #ifndef COURSE_TESTING
#   test.cpp       GoogleTest; defines COURSE_TESTING and includes main.cpp
#   reference.py   the same lesson in Python; --golden writes golden.json
#   golden.json    the values Python computed
#   expected.txt   "$ NN_topic --smoke ..." and one pattern per line of that run's output
#   README.md      the lesson text
#   lesson.cmake   optional: extra libraries, tests or test settings of this lesson
#
# add_lesson(08_cnn) makes:
#   08_cnn             the executable from main.cpp, in build/<preset>/bin/
#   test_08_cnn        the GoogleTest executable from test.cpp; its tests are test_08_cnn.*
#   lesson.08_cnn      ctest: runs the command of expected.txt from a scratch folder and matches
#                      its output line by line (cmake/CheckLessonOutput.cmake)
include_guard(GLOBAL)

# One target owns the precompiled header; every other target reuses it (REUSE_FROM), so
# <torch/torch.h> is parsed once per build instead of once per source file.
function(course_use_pch target)
  if(COURSE_PCH)
    target_precompile_headers(${target} REUSE_FROM course_pch)
  endif()
endfunction()

# The files every lesson folder holds; configure stops when one is missing.
set(COURSE_LESSON_FILES main.cpp test.cpp reference.py golden.json expected.txt README.md)

# Finds lessons/NN_topic folders and adds each. CONFIGURE_DEPENDS: a new folder (or a file added
# to one) re-runs CMake at the next build, without a manual reconfigure. Files only, not folders:
# the __pycache__ that Python leaves in a lesson folder when a later lesson imports its
# reference.py would re-run CMake at the next build, and rewrite ctest's files while ctest runs.
function(course_add_lessons)
  file(GLOB entries LIST_DIRECTORIES true CONFIGURE_DEPENDS
       ${PROJECT_SOURCE_DIR}/lessons/[0-9][0-9]_*)
  file(GLOB files LIST_DIRECTORIES false CONFIGURE_DEPENDS
       ${PROJECT_SOURCE_DIR}/lessons/[0-9][0-9]_*/*)
  list(SORT entries)
  set(names "")
  foreach(entry IN LISTS entries)
    if(IS_DIRECTORY ${entry})
      get_filename_component(name ${entry} NAME)
      add_lesson(${name})
      list(APPEND names ${name})
    endif()
  endforeach()
  set(COURSE_LESSONS ${names} PARENT_SCOPE)
endfunction()

# Stops configure with a message when `dir` is not a complete lesson folder named `name`.
# (tests/check_lesson_folder.cmake calls it on a folder with only a main.cpp.)
function(course_check_lesson_folder name dir)
  if(NOT name MATCHES "^[0-9][0-9]_[a-z0-9_]+$")
    message(FATAL_ERROR "lessons/${name}: a lesson folder is named NN_topic (two digits, an "
                        "underscore, lowercase words joined by _), e.g. 08_cnn")
  endif()
  set(missing "")
  foreach(file IN LISTS COURSE_LESSON_FILES)
    if(NOT EXISTS ${dir}/${file})
      list(APPEND missing ${file})
    endif()
  endforeach()
  if(missing)
    string(REPLACE ";" ", " missing "${missing}")
    message(FATAL_ERROR "lessons/${name} has no ${missing}. Every lesson folder holds main.cpp, "
                        "test.cpp, reference.py, golden.json, expected.txt and README.md: see "
                        "docs/writing-a-lesson.md")
  endif()
endfunction()

function(add_lesson name)
  set(dir ${PROJECT_SOURCE_DIR}/lessons/${name})
  course_check_lesson_folder(${name} ${dir})

  add_executable(${name} ${dir}/main.cpp)
  course_lesson_settings(${name})

  if(COURSE_BUILD_TESTS)
    course_add_gtest(test_${name} ${dir}/test.cpp LIBS course::test_support)
    course_lesson_settings(test_${name})
    set(workdir ${CMAKE_BINARY_DIR}/test-workdir/${name})
    file(MAKE_DIRECTORY ${workdir})
    # Run from a scratch folder, not the source or bin folder: a lesson must not depend on the
    # working directory; --out into that folder: a test never overwrites a learner's outputs.
    add_test(NAME lesson.${name}
      COMMAND ${CMAKE_COMMAND} -DBINARY=$<TARGET_FILE:${name}> -DEXPECTED=${dir}/expected.txt
              -DWORKDIR=${workdir} -P ${PROJECT_SOURCE_DIR}/cmake/CheckLessonOutput.cmake)
    set_tests_properties(lesson.${name} PROPERTIES LABELS lesson)
  endif()
  # Included in every build, tests or not: it may also add libraries the lesson links. Its tests
  # go after an `if(NOT COURSE_BUILD_TESTS) return() endif()`.
  if(EXISTS ${dir}/lesson.cmake)
    include(${dir}/lesson.cmake)
  endif()
endfunction()

# course_export_models(COMMENT text FILES file... [DEPENDS file...]), called from a lesson.cmake:
# the lesson's export.py, run by the build with COURSE_TORCH_PYTHON, writes FILES into
# build/<preset>/exported/<lesson> (never committed), where course::exported_dir() finds them. The
# lesson and its test depend on them, so `./course build NN`, `./course run NN` and `./course test`
# make them first. export.py builds on lesson 08's CNN and common/python (DEPENDS adds more).
function(course_export_models)
  cmake_parse_arguments(PARSE_ARGV 0 arg "" "COMMENT" "FILES;DEPENDS")
  get_filename_component(lesson ${CMAKE_CURRENT_LIST_DIR} NAME)
  set(out ${CMAKE_BINARY_DIR}/exported/${lesson})
  list(TRANSFORM arg_FILES PREPEND ${out}/)
  add_custom_command(
    OUTPUT ${arg_FILES}
    COMMAND ${COURSE_TORCH_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/export.py --out ${out} --threads 2
    DEPENDS ${CMAKE_CURRENT_LIST_DIR}/export.py ${PROJECT_SOURCE_DIR}/lessons/08_cnn/reference.py
            ${PROJECT_SOURCE_DIR}/common/python/course_common.py ${arg_DEPENDS}
    COMMENT "lesson ${lesson}: ${arg_COMMENT}"
    VERBATIM)
  add_custom_target(${lesson}_models DEPENDS ${arg_FILES})
  foreach(target ${lesson} test_${lesson})
    if(TARGET ${target})
      add_dependencies(${target} ${lesson}_models)
    endif()
  endforeach()
endfunction()

# What both executables of a lesson share: the lesson's folder and lessons/ on the include path
# ("cnn.h" from its own folder, "08_cnn/cnn.h" from a later lesson), course::common, warnings,
# the precompiled header.
function(course_lesson_settings target)
  target_include_directories(${target} PRIVATE ${PROJECT_SOURCE_DIR}/lessons)
  target_link_libraries(${target} PRIVATE course::common course::warnings)
  course_use_pch(${target})
endfunction()

# course_add_gtest(name source LIBS libs... [LABELS label]): one GoogleTest executable,
# discovered by ctest. Tests named *_CUDA call GTEST_SKIP() without a GPU; ctest then reports them
# as skipped.
function(course_add_gtest name source)
  cmake_parse_arguments(PARSE_ARGV 2 arg "" "" "LIBS;LABELS")
  add_executable(${name} ${source})
  target_link_libraries(${name} PRIVATE ${arg_LIBS} course::test_support GTest::gtest_main
                        course::warnings)
  course_use_pch(${name})
  # Tests run for seconds and spend them in LibTorch's own (compiled) kernels: -O1 compiles a
  # test about 2 s faster than -O3 (docs/building.md), and the lesson binary keeps -O3. GCC 13
  # and later record -O-dependent target flags (-munroll-only-small-loops) in the precompiled
  # header and refuse it to a file built at another level, so there the tests keep -O3.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
    target_compile_options(${name} PRIVATE $<$<CONFIG:Release>:-O1>)
  endif()
  # Discovered twice, so that the tests named *_CUDA carry the label cuda (`ctest -L cuda` runs
  # the GPU tests, `ctest -L unit` the rest). One label per test: gtest_discover_tests writes
  # PROPERTIES out as key/value pairs, and a list value would break the pairing. Prefixed with
  # the executable's name, so `ctest -R 02_autograd` selects a lesson's unit tests.
  if(NOT arg_LABELS)
    set(arg_LABELS unit)
  endif()
  foreach(filter IN ITEMS "-*_CUDA" "*_CUDA")
    set(label ${arg_LABELS})
    if(filter STREQUAL "*_CUDA")
      set(label cuda)
    endif()
    gtest_discover_tests(${name} TEST_PREFIX "${name}." TEST_FILTER "${filter}"
      DISCOVERY_MODE PRE_TEST  # list the tests when ctest runs, not at build time
      # Listing loads LibTorch; with the tests running beside it on 2 busy cores it can pass
      # CMake's default 5 s, and `ctest -N` (course.labels) then fails.
      DISCOVERY_TIMEOUT 60
      PROPERTIES LABELS ${label} SKIP_REGULAR_EXPRESSION "\\[  SKIPPED \\]")
  endforeach()
endfunction()
