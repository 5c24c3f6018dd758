# Lesson 14's second output test: a run that loads the judge trains the same GAN as one that
# trains it (cached_judge.sh). add_lesson() includes this file.
if(NOT COURSE_BUILD_TESTS)
  return()
endif()
add_test(NAME lesson.14_gan.cached_judge
         COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/cached_judge.sh $<TARGET_FILE:14_gan>)
set_tests_properties(lesson.14_gan.cached_judge PROPERTIES LABELS lesson TIMEOUT 120)
