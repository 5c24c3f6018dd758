# course::warnings: the warning flags every course target uses, in one INTERFACE target.
add_library(course_warnings INTERFACE)
add_library(course::warnings ALIAS course_warnings)
target_compile_options(course_warnings INTERFACE
  $<$<COMPILE_LANGUAGE:CXX>:
    -Wall            # the common mistakes
    -Wextra          # and the less common ones
    -Wpedantic       # non-standard extensions
    -Wshadow         # a local that hides another one: a classic in training loops
    -Wno-unused-parameter  # LibTorch's headers trip this one; our own code rarely does
    # GCC 14 (Debian 13's image) reports false -Warray-bounds and -Wstringop-overflow inside
    # libstdc++'s std::vector<bool> wherever LibTorch's headers are compiled at -O3: off for GCC 14
    # and newer (LibTorch's own build passes -Wno-stringop-overflow too: course_doctor shows it).
    $<$<AND:$<CXX_COMPILER_ID:GNU>,$<VERSION_GREATER_EQUAL:$<CXX_COMPILER_VERSION>,14>>:-Wno-array-bounds>
    $<$<AND:$<CXX_COMPILER_ID:GNU>,$<VERSION_GREATER_EQUAL:$<CXX_COMPILER_VERSION>,14>>:-Wno-stringop-overflow>
    $<$<BOOL:${COURSE_WERROR}>:-Werror>  # CI turns COURSE_WERROR on
  >)

# course::sanitizers: AddressSanitizer + UBSan when COURSE_SANITIZE is on (the asan preset).
# course::common links it PUBLIC, so every lesson and test gets it, and nothing else does.
add_library(course_sanitizers INTERFACE)
add_library(course::sanitizers ALIAS course_sanitizers)
# -fno-sanitize-recover: undefined behaviour stops the program, so a test notices it (UBSan's
# default is to print and go on, exit status 0).
if(COURSE_SANITIZE)
  target_compile_options(course_sanitizers INTERFACE -fsanitize=address,undefined
                         -fno-sanitize-recover=all -fno-omit-frame-pointer)
  target_link_options(course_sanitizers INTERFACE -fsanitize=address,undefined)
endif()
# COURSE_FUZZ (clang, the fuzz preset): libFuzzer's coverage feedback in every course target; the
# fuzz binaries themselves link -fsanitize=fuzzer (fuzz/CMakeLists.txt).
if(COURSE_FUZZ)
  target_compile_options(course_sanitizers INTERFACE -fsanitize=fuzzer-no-link)
endif()
