# Lesson 01 reads back the PNG it wrote with cv::imread: OpenCV's imgcodecs (the rest of the course
# writes PNGs with libpng and links no imgcodecs; cmake/CourseOpenCV.cmake says why).
target_link_libraries(01_tensors PRIVATE course::opencv_imgcodecs)
if(TARGET test_01_tensors)
  target_link_libraries(test_01_tensors PRIVATE course::opencv_imgcodecs)
endif()
