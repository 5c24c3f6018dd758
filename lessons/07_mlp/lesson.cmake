# Lesson 07's second output test: a run killed with SIGKILL and resumed with --resume ends with the
# numbers of an uninterrupted run (kill_resume.sh). add_lesson() includes this file.
if(NOT COURSE_BUILD_TESTS)
  return()
endif()
add_test(NAME lesson.07_mlp.kill_resume
         COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/kill_resume.sh $<TARGET_FILE:07_mlp>)
set_tests_properties(lesson.07_mlp.kill_resume PROPERTIES LABELS "lesson;slow" TIMEOUT 120)
# Ctrl-C while the first checkpoint is written: the run stops after it, complete (interrupt.sh).
add_test(NAME lesson.07_mlp.interrupt
         COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/interrupt.sh $<TARGET_FILE:07_mlp>)
# A second run into the same --out gets run_2 and leaves run_1 alone; --resume continues the
# latest (run_folders.sh).
add_test(NAME lesson.07_mlp.run_folders
         COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/run_folders.sh $<TARGET_FILE:07_mlp>)
set_tests_properties(lesson.07_mlp.interrupt lesson.07_mlp.run_folders
                     PROPERTIES LABELS "lesson;slow" TIMEOUT 120)
