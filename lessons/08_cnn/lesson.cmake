# Lesson 08's test reads back the PNGs the lesson wrote (cv::imread): OpenCV's imgcodecs.
if(TARGET test_08_cnn)
  target_link_libraries(test_08_cnn PRIVATE course::opencv_imgcodecs)
endif()
