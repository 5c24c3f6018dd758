# Lesson 06 reads a folder of PNGs with cv::imread: OpenCV's imgcodecs (cmake/CourseOpenCV.cmake).
target_link_libraries(06_datasets PRIVATE course::opencv_imgcodecs)
if(TARGET test_06_datasets)
  target_link_libraries(test_06_datasets PRIVATE course::opencv_imgcodecs)
endif()
if(NOT COURSE_BUILD_TESTS)
  return()
endif()
# Lesson 06's smoke run reads a small PNG folder and CSV that datasets/make_datasets.py writes into
# the build tree first (a ctest fixture); COURSE_DATA_DIR (not --data-dir, which would hide
# Fashion-MNIST) points there. add_lesson() includes this file.
find_package(Python3 REQUIRED COMPONENTS Interpreter)
add_test(NAME lesson.06_datasets.setup
         COMMAND ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/datasets/make_datasets.py
                 --out ${CMAKE_BINARY_DIR}/datasets/fashion-mnist-png --per-class 50)
set_tests_properties(lesson.06_datasets.setup PROPERTIES FIXTURES_SETUP 06_datasets_data
                     LABELS lesson)
set_tests_properties(lesson.06_datasets PROPERTIES FIXTURES_REQUIRED 06_datasets_data
                     ENVIRONMENT COURSE_DATA_DIR=${CMAKE_BINARY_DIR}/datasets)
