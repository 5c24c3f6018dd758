# Lesson 20 uses c10d, PyTorch's communication library, which lives inside libtorch_cpu (and
# libtorch_cuda for NCCL). Its ProcessGroupGloo.hpp is compiled only with USE_C10D_GLOO and
# includes five of Gloo's own headers, which pip's wheel does not ship: Debian's libgloo-dev gives
# them. Only their declarations are used (README.md, "Gloo's headers", says why that is sound and
# lesson.20_distributed.no_gloo_code below checks it): nothing links Debian's libgloo, so every
# Gloo function the lesson reaches is the one inside LibTorch. add_lesson() includes this file.
find_path(COURSE_GLOO_INCLUDE gloo/rendezvous/store.h)
if(NOT COURSE_GLOO_INCLUDE)
  message(FATAL_ERROR "lesson 20_distributed needs Gloo's headers: apt-get install libgloo-dev "
                      "(./course setup does), or set COURSE_GLOO_INCLUDE to the folder above gloo/")
endif()
set(lesson20_targets 20_distributed)
if(TARGET test_20_distributed)
  list(APPEND lesson20_targets test_20_distributed)
endif()
# NCCL for --device cuda: only where the CUDA code is compiled (a toolkit and a CUDA LibTorch) and
# nccl.h is found (pip: site-packages/nvidia/nccl/include).
if(COURSE_CUDA_ENABLED)
  find_path(COURSE_NCCL_INCLUDE nccl.h HINTS ${TORCH_INSTALL_PREFIX}/../nvidia/nccl/include)
endif()
foreach(target IN LISTS lesson20_targets)
  target_compile_definitions(${target} PRIVATE USE_C10D_GLOO)
  target_include_directories(${target} SYSTEM PRIVATE ${COURSE_GLOO_INCLUDE})
  if(COURSE_NCCL_INCLUDE)
    target_compile_definitions(${target} PRIVATE USE_C10D_NCCL COURSE_HAVE_NCCL)
    target_include_directories(${target} SYSTEM PRIVATE ${COURSE_NCCL_INCLUDE})
  endif()
endforeach()

if(NOT COURSE_BUILD_TESTS)
  return()
endif()
# The lesson's binary holds no code of Gloo's: no Gloo function or vtable compiled from Debian's
# headers (only their namespace constants), and none it calls, so no layout of a Gloo class from
# those headers is used (no_gloo_code.sh).
add_test(NAME lesson.20_distributed.no_gloo_code
         COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/no_gloo_code.sh $<TARGET_FILE:20_distributed>)
# Two ranks started by the binary itself (--nproc 2); one killed mid-run: the other stops with an
# error within its --timeout, and the launcher reports it (kill_rank.sh).
add_test(NAME lesson.20_distributed.kill_rank
         COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/kill_rank.sh $<TARGET_FILE:20_distributed>)
set_tests_properties(lesson.20_distributed.no_gloo_code lesson.20_distributed.kill_rank
                     PROPERTIES LABELS lesson TIMEOUT 120)
