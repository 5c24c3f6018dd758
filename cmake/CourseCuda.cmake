# Whether the CUDA sources (.cu: tests/cuda, and every lesson's CUDA-only code) are compiled.
# AUTO, the default, compiles them whenever both a CUDA toolkit (nvcc) and a CUDA build of LibTorch
# are there, as with the pip wheel on the course's machines: so every build, CI's included, catches
# a broken kernel, and the *_CUDA tests link and skip without a GPU. Without a toolkit (the CPU
# Docker image, Debian's LibTorch) the build says so and leaves them out. ON insists (the cuda
# preset), OFF never compiles them. Sanitizer builds leave them out in AUTO: ASan and the CUDA
# runtime need special settings to share a process (protect_shadow_gap=0).
# Included after CourseDependencies: whether LibTorch is a CUDA build is known only once found.
string(TOUPPER "${COURSE_CUDA}" course_cuda_choice)
if(NOT course_cuda_choice MATCHES "^(AUTO|ON|OFF|TRUE|FALSE|YES|NO|1|0)$")
  message(FATAL_ERROR "COURSE_CUDA must be AUTO, ON or OFF, not '${COURSE_CUDA}'")
endif()

# nvcc: the compiler named by CMAKE_CUDA_COMPILER or CUDACXX, else the toolkit ./course setup found
# (CUDAToolkit_ROOT), else one on PATH.
if(NOT CMAKE_CUDA_COMPILER AND NOT DEFINED ENV{CUDACXX})
  find_program(COURSE_NVCC nvcc HINTS ${CUDAToolkit_ROOT}/bin /usr/local/cuda/bin)
  if(COURSE_NVCC)
    set(CMAKE_CUDA_COMPILER ${COURSE_NVCC})
  endif()
endif()

set(course_cuda_reason "")
if(NOT CAFFE2_USE_CUDA)
  set(course_cuda_reason "LibTorch ${Torch_VERSION} is a CPU-only build")
elseif(NOT CMAKE_CUDA_COMPILER AND NOT DEFINED ENV{CUDACXX})
  set(course_cuda_reason "no CUDA toolkit (nvcc) was found")
elseif(COURSE_SANITIZE AND course_cuda_choice STREQUAL "AUTO")
  set(course_cuda_reason "sanitizer builds leave CUDA out unless COURSE_CUDA=ON")
endif()

if(course_cuda_choice STREQUAL "AUTO")
  if(course_cuda_reason)
    set(COURSE_CUDA_ENABLED OFF)
  else()
    set(COURSE_CUDA_ENABLED ON)
  endif()
elseif(course_cuda_choice MATCHES "^(ON|TRUE|YES|1)$")
  if(course_cuda_reason AND NOT course_cuda_reason MATCHES "^sanitizer")
    message(FATAL_ERROR "COURSE_CUDA=ON (the cuda preset), but ${course_cuda_reason}. "
                        "See docs/libtorch.md for a CUDA LibTorch and toolkit.")
  endif()
  set(COURSE_CUDA_ENABLED ON)
else()
  set(COURSE_CUDA_ENABLED OFF)
  set(course_cuda_reason "COURSE_CUDA=OFF")
endif()

if(COURSE_CUDA_ENABLED)
  # The GPU architectures come from TORCH_CUDA_ARCH_LIST (./course passes 8.0;9.0: A100, H100/H200):
  # LibTorch's config turns them into -gencode flags and sets CMAKE_CUDA_ARCHITECTURES to OFF.
  enable_language(CUDA)
  set(CMAKE_CUDA_STANDARD 17)
  set(CMAKE_CUDA_STANDARD_REQUIRED ON)
  message(STATUS "course: CUDA sources compiled with ${CMAKE_CUDA_COMPILER} "
                 "(${CMAKE_CUDA_COMPILER_VERSION}) for TORCH_CUDA_ARCH_LIST ${TORCH_CUDA_ARCH_LIST}")
else()
  message(STATUS "course: CUDA sources not compiled: ${course_cuda_reason}")
endif()
