# course::opencv: OpenCV's core, imgproc and imgcodecs modules.
#
# ./course setup installs only those three -dev packages. On Debian, OpenCVConfig.cmake belongs to
# libopencv-dev, the metapackage that pulls in every module (Qt, VTK, GStreamer and more), so it
# may not be there: then the three libraries and the header folder are found directly.
find_package(OpenCV QUIET CONFIG COMPONENTS core imgproc imgcodecs)
add_library(course_opencv INTERFACE)
add_library(course::opencv ALIAS course_opencv)
if(OpenCV_FOUND)
  target_link_libraries(course_opencv INTERFACE ${OpenCV_LIBS})
  target_include_directories(course_opencv SYSTEM INTERFACE ${OpenCV_INCLUDE_DIRS})
  message(STATUS "course: OpenCV ${OpenCV_VERSION} (OpenCVConfig.cmake)")
else()
  find_path(COURSE_OPENCV_INCLUDE_DIR opencv2/core.hpp PATH_SUFFIXES opencv4)
  set(course_opencv_libs)
  foreach(module core imgproc imgcodecs)
    find_library(COURSE_OPENCV_${module} NAMES opencv_${module})
    list(APPEND course_opencv_libs ${COURSE_OPENCV_${module}})
  endforeach()
  if(NOT COURSE_OPENCV_INCLUDE_DIR OR NOT COURSE_OPENCV_core OR NOT COURSE_OPENCV_imgproc
     OR NOT COURSE_OPENCV_imgcodecs)
    message(FATAL_ERROR "OpenCV (core, imgproc, imgcodecs) not found: run ./course setup, or "
                        "apt-get install libopencv-core-dev libopencv-imgproc-dev "
                        "libopencv-imgcodecs-dev")
  endif()
  target_link_libraries(course_opencv INTERFACE ${course_opencv_libs})
  target_include_directories(course_opencv SYSTEM INTERFACE ${COURSE_OPENCV_INCLUDE_DIR})
  message(STATUS "course: OpenCV from ${COURSE_OPENCV_core} (no OpenCVConfig.cmake)")
endif()
