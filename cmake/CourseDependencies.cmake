# Finds every third-party package the course uses. All of them come from the system's packages or
# from pip, installed by `./course setup` before the build: nothing is downloaded at configure time.

# LibTorch: an official zip, Debian's libtorch-dev, or the one bundled in the pip wheel
# (./course setup passes CMAKE_PREFIX_PATH). The pip wheel is a CUDA build whose config looks for
# a CUDA toolkit; ./course setup points CUDAToolkit_ROOT at /usr/local/cuda when it exists.
find_package(Torch REQUIRED)
if(Torch_VERSION VERSION_LESS 2.6)
  message(FATAL_ERROR
    "LibTorch ${Torch_VERSION} is too old for this course (2.6 or newer needed). "
    "Run ./course doctor to see where it came from, and ./course setup to get 2.11.")
endif()
message(STATUS "course: LibTorch ${Torch_VERSION} from ${Torch_DIR}")

# TorchConfig puts its flags in TORCH_CXX_FLAGS (for example -D_GLIBCXX_USE_CXX11_ABI=1) instead of
# on the torch target; course::torch carries them as usage requirements, target-based.
add_library(course_torch INTERFACE)
add_library(course::torch ALIAS course_torch)
target_link_libraries(course_torch INTERFACE ${TORCH_LIBRARIES})
# The pip wheel's libtorch.so was built with a newer GCC and carries its own copies of some
# libstdc++ functions (std::filesystem::remove_all among them). Listed first, libtorch.so would
# supply them to our code too, and they crash against this system's libstdc++. Naming libstdc++
# before any library makes the dynamic linker take the system's own copies.
target_link_options(course_torch INTERFACE "LINKER:--push-state,--no-as-needed,-lstdc++,--pop-state")
if(TORCH_CXX_FLAGS)
  separate_arguments(course_torch_flags UNIX_COMMAND "${TORCH_CXX_FLAGS}")
  target_compile_options(course_torch INTERFACE $<$<COMPILE_LANGUAGE:CXX>:${course_torch_flags}>)
endif()

# fmt (libfmt-dev): all console output, compiled once in the system's libfmt.so. The pip wheel
# (and an official LibTorch zip) carries another fmt's headers inside torch/include, which is
# searched before /usr/include: compiled against those, a lesson would call a libfmt it does not
# link (undefined fmt::v12::vprint). So course::fmt puts a folder holding only a link to the
# system's fmt headers ahead of torch/include: both are system include folders (-isystem, so
# that a newer GCC's warnings about fmt's own code stay out of the lessons' output), searched in
# the order given, and course::common links course::fmt before course::torch for that.
# Header-only fmt would also work, but it compiles fmt's formatting code into every translation
# unit again: about 2 s each (docs/building.md).
find_package(fmt REQUIRED)
get_target_property(course_fmt_include fmt::fmt INTERFACE_INCLUDE_DIRECTORIES)
list(GET course_fmt_include 0 course_fmt_include)
set(course_fmt_link_dir ${CMAKE_BINARY_DIR}/fmt-include)
file(MAKE_DIRECTORY ${course_fmt_link_dir})
file(CREATE_LINK ${course_fmt_include}/fmt ${course_fmt_link_dir}/fmt SYMBOLIC)
add_library(course_fmt INTERFACE)
add_library(course::fmt ALIAS course_fmt)
target_include_directories(course_fmt SYSTEM BEFORE INTERFACE ${course_fmt_link_dir})
target_link_libraries(course_fmt INTERFACE fmt::fmt)
message(STATUS "course: fmt ${fmt_VERSION} from ${course_fmt_include}/fmt")
find_package(CLI11 REQUIRED)      # libcli11-dev: the lessons' flags
include(CourseOpenCV)             # course::opencv: drawing; course::opencv_imgcodecs: cv::imread
find_package(ZLIB REQUIRED)       # reading Fashion-MNIST's .gz files directly
find_package(PNG REQUIRED)        # libpng-dev: writing every PNG (common/src/files.cpp)
find_package(Threads REQUIRED)

# The Python with torch that reference.py, export.py and the Python checks run: the one ./course
# found (it passes -DCOURSE_TORCH_PYTHON=...), else the first python3. Resolved here, once.
if(NOT COURSE_TORCH_PYTHON)
  find_package(Python3 REQUIRED COMPONENTS Interpreter)
  set(COURSE_TORCH_PYTHON ${Python3_EXECUTABLE})
endif()
