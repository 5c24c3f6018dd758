# Lesson 18 serves a model that Python made, over HTTP. export.py trains lesson 08's CNN briefly on
# all ten classes and writes TorchScript modules into the build tree,
# build/<preset>/exported/18_serving (never committed). The build runs it (course_export_models,
# cmake/CourseLesson.cmake), so `./course build 18`, `./course run 18` and `./course test` find
# them. add_lesson() includes this file; `dir` is the lesson's folder.
#
# HTTP: Debian's libcpp-httplib-dev. Debian builds cpp-httplib as a shared library with OpenSSL,
# zlib and Brotli support, and its classes' layout depends on those CPPHTTPLIB_* macros: pkg-config
# gives exactly the flags the library was compiled with. JSON: nlohmann-json3-dev.
find_package(PkgConfig REQUIRED)
pkg_check_modules(lesson18_httplib REQUIRED IMPORTED_TARGET cpp-httplib)
# httplib.h calls OpenSSL (and zlib, Brotli) inline where Debian built the library with them, so
# the program links those too: the modules its pkg-config file lists under Requires.private, as
# shared libraries. (`pkg-config --static` would add their own private libraries as well, such as
# -lzstd, whose development files Debian 13 does not install.) Without them Debian 13's linker
# stops at "DSO missing from command line" (OPENSSL_thread_stop).
execute_process(COMMAND ${PKG_CONFIG_EXECUTABLE} --print-requires-private cpp-httplib
                OUTPUT_VARIABLE lesson18_private OUTPUT_STRIP_TRAILING_WHITESPACE)
string(REGEX REPLACE "[ \t]*[<>=]+[^\n]*" "" lesson18_private "${lesson18_private}")  # versions
string(REPLACE "\n" ";" lesson18_private "${lesson18_private}")
if(lesson18_private)
  pkg_check_modules(lesson18_httplib_private REQUIRED IMPORTED_TARGET ${lesson18_private})
  set(lesson18_private PkgConfig::lesson18_httplib_private)
endif()
find_package(nlohmann_json REQUIRED)

course_export_models(
  FILES classifier.pt fixed.pt
  COMMENT "export.py trains lesson 08's CNN on all ten classes and exports it (seconds)")

foreach(target 18_serving test_18_serving)
  if(TARGET ${target})
    target_link_libraries(${target} PRIVATE PkgConfig::lesson18_httplib ${lesson18_private}
                                            nlohmann_json::nlohmann_json)
  endif()
endforeach()
if(NOT COURSE_BUILD_TESTS)
  return()
endif()
# A server test that hangs must not hang ./course test: every test here has a deadline (the
# tests bound their own waits too; these are the last resort).
set_tests_properties(lesson.18_serving PROPERTIES TIMEOUT 120)
