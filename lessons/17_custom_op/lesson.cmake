# Lesson 17's operator lives in a shared library, course_ops17 (build/<preset>/lib): the lesson
# binary and its test link it, and Python loads the very same file with torch.ops.load_library.
# Loading it runs its TORCH_LIBRARY blocks, which register course::swiglu with the dispatcher.
# add_lesson() includes this file; `dir` is the lesson's folder.
add_library(course_ops17 SHARED ${dir}/swiglu_op.cpp)
target_include_directories(course_ops17 PUBLIC ${dir})
target_link_libraries(course_ops17 PRIVATE course::torch course::warnings)
target_compile_features(course_ops17 PRIVATE cxx_std_17)
# No precompiled header: it is compiled without -fPIC, which a shared library needs.
set_target_properties(course_ops17 PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/lib)

# at::parallel_for is an inline template that gets its threads from OpenMP only in a file compiled
# with -fopenmp: without it the kernels run on one thread. LibTorch's own libgomp.so.1 (the same
# soname) is the one loaded at run time, so the library and LibTorch share one thread pool.
find_package(OpenMP COMPONENTS CXX)
if(OpenMP_CXX_FOUND)
  target_link_libraries(course_ops17 PRIVATE OpenMP::OpenMP_CXX)
else()
  message(STATUS "course: lesson 17's CPU kernels run on one thread (no OpenMP found)")
endif()

# The float32 CPU loops once more, compiled for AVX2 + FMA and chosen at run time when the CPU has
# them (swiglu_op.cpp). at::vec's AVX2 header includes sleef.h (shipped in the pip wheel's
# include folder; libsleef-dev on Debian); without it, or on another CPU family, the portable loop
# runs alone.
find_path(COURSE_SLEEF_INCLUDE sleef.h HINTS ${TORCH_INCLUDE_DIRS})
if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64)$" AND COURSE_SLEEF_INCLUDE)
  target_sources(course_ops17 PRIVATE ${dir}/swiglu_cpu_avx2.cpp)
  set_source_files_properties(${dir}/swiglu_cpu_avx2.cpp PROPERTIES
    COMPILE_OPTIONS "-mavx2;-mfma" COMPILE_DEFINITIONS "CPU_CAPABILITY=AVX2;CPU_CAPABILITY_AVX2")
  target_compile_definitions(course_ops17 PRIVATE COURSE_OPS17_AVX2)
else()
  message(STATUS "course: lesson 17 builds only the portable CPU loop (no x86-64 or no sleef.h)")
endif()

# The CUDA kernels, wherever .cu sources are compiled (cmake/CourseCuda.cmake); COURSE_OPS17_CUDA
# tells swiglu_op.cpp to register them and the test that they exist.
if(COURSE_CUDA_ENABLED)
  target_sources(course_ops17 PRIVATE ${dir}/swiglu_cuda.cu)
  target_compile_definitions(course_ops17 PUBLIC COURSE_OPS17_CUDA)
endif()

# The same forward through the stable ABI (swiglu_stable.cpp): LibTorch 2.9 brought
# STABLE_TORCH_LIBRARY; the stable contiguous() and parallel_for() this file uses came in 2.10.
# TORCH_TARGET_VERSION = 2.10 makes the compiler refuse anything newer. Older LibTorch (Debian 13
# has 2.6): left out, and its test says why.
if(Torch_VERSION VERSION_GREATER_EQUAL 2.10)
  add_library(course_ops17_stable SHARED ${dir}/swiglu_stable.cpp)
  target_link_libraries(course_ops17_stable PRIVATE course::torch course::warnings)
  target_compile_features(course_ops17_stable PRIVATE cxx_std_17)
  target_compile_definitions(course_ops17_stable PRIVATE TORCH_TARGET_VERSION=0x020a000000000000)
  set_target_properties(course_ops17_stable PROPERTIES LIBRARY_OUTPUT_DIRECTORY
                                                       ${CMAKE_BINARY_DIR}/lib)
  add_dependencies(17_custom_op course_ops17_stable)  # ./course build 17 builds it too
else()
  set(lesson17_stable_reason "the stable ABI's contiguous() and parallel_for() need LibTorch 2.10 or newer, this is ${Torch_VERSION}")
  message(STATUS "course: lesson 17's stable-ABI operator (course_ops17_stable) skipped: "
                 "${lesson17_stable_reason}")
endif()

target_link_libraries(17_custom_op PRIVATE course_ops17)
if(NOT COURSE_BUILD_TESTS)
  return()
endif()
target_link_libraries(test_17_custom_op PRIVATE course_ops17)

# Python loads the library the build made and checks it: forward against silu(a) * b composed
# from ATen ops, torch.autograd.gradcheck in float64, and one training step against the composed
# twin. COURSE_TORCH_PYTHON: the Python with torch (cmake/CourseDependencies.cmake).
add_test(NAME lesson.17_custom_op.python_loads_library
         COMMAND ${COURSE_TORCH_PYTHON} ${dir}/reference.py --check-library
                 $<TARGET_FILE:course_ops17> --threads 2)
set_tests_properties(lesson.17_custom_op.python_loads_library PROPERTIES LABELS lesson
  PASS_REGULAR_EXPRESSION "check-library: forward, gradcheck and training match: OK")
# The stable library from Python: torch.ops.course_stable.swiglu against F.silu(a) * b, a Python
# backward registered for it, gradcheck; and proof that it references no C++ symbol of LibTorch.
if(TARGET course_ops17_stable)
  add_test(NAME lesson.17_custom_op.stable_abi
           COMMAND ${COURSE_TORCH_PYTHON} ${dir}/reference.py --check-stable
                   $<TARGET_FILE:course_ops17_stable> --threads 2)
  set_tests_properties(lesson.17_custom_op.stable_abi PROPERTIES LABELS lesson
    PASS_REGULAR_EXPRESSION "check-stable: .*OK")
else()
  add_test(NAME lesson.17_custom_op.stable_abi
           COMMAND ${CMAKE_COMMAND} -E echo "skipped: ${lesson17_stable_reason}")
  set_tests_properties(lesson.17_custom_op.stable_abi PROPERTIES LABELS lesson
    SKIP_REGULAR_EXPRESSION "skipped: ")
endif()
