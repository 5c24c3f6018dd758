# course::opencv: OpenCV's core and imgproc modules (Mat, drawing, resizing), which every program
# links through course::common; course::opencv_imgcodecs: reading and writing image files, linked
# only by what reads images with cv::imread (lessons 01 and 06, lesson 08's test, the image-folder
# fuzz target; each says so in its lesson.cmake or CMakeLists.txt). The course writes its PNGs with
# libpng (common/src/files.cpp): imgcodecs brings GDAL and about 178 MB of libraries with it, too
# much to carry to a GPU machine (tools/gpu-check).
#
# ./course setup installs only those three -dev packages. On Debian, OpenCVConfig.cmake belongs to
# libopencv-dev, the metapackage that pulls in every module (Qt, VTK, GStreamer and more), so it
# may not be there: then the three libraries and the header folder are found directly.
find_package(OpenCV QUIET CONFIG COMPONENTS core imgproc imgcodecs)
add_library(course_opencv INTERFACE)
add_library(course::opencv ALIAS course_opencv)
add_library(course_opencv_imgcodecs INTERFACE)
add_library(course::opencv_imgcodecs ALIAS course_opencv_imgcodecs)
if(OpenCV_FOUND)
  target_link_libraries(course_opencv INTERFACE opencv_core opencv_imgproc)
  target_link_libraries(course_opencv_imgcodecs INTERFACE course_opencv opencv_imgcodecs)
  target_include_directories(course_opencv SYSTEM INTERFACE ${OpenCV_INCLUDE_DIRS})
  message(STATUS "course: OpenCV ${OpenCV_VERSION} (OpenCVConfig.cmake)")
else()
  find_path(COURSE_OPENCV_INCLUDE_DIR opencv2/core.hpp PATH_SUFFIXES opencv4)
  foreach(module core imgproc imgcodecs)
    find_library(COURSE_OPENCV_${module} NAMES opencv_${module})
  endforeach()
  if(NOT COURSE_OPENCV_INCLUDE_DIR OR NOT COURSE_OPENCV_core OR NOT COURSE_OPENCV_imgproc
     OR NOT COURSE_OPENCV_imgcodecs)
    message(FATAL_ERROR "OpenCV (core, imgproc, imgcodecs) not found: run ./course setup, or "
                        "apt-get install libopencv-core-dev libopencv-imgproc-dev "
                        "libopencv-imgcodecs-dev")
  endif()
  target_link_libraries(course_opencv INTERFACE ${COURSE_OPENCV_core} ${COURSE_OPENCV_imgproc})
  target_link_libraries(course_opencv_imgcodecs INTERFACE course_opencv ${COURSE_OPENCV_imgcodecs})
  target_include_directories(course_opencv SYSTEM INTERFACE ${COURSE_OPENCV_INCLUDE_DIR})
  message(STATUS "course: OpenCV from ${COURSE_OPENCV_core} (no OpenCVConfig.cmake)")
endif()
