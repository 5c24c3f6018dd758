# Lesson 07's second output test: a run killed with SIGKILL and resumed with --resume ends with the
# numbers of an uninterrupted run (kill_resume.sh). add_lesson() includes this file.
add_test(NAME lesson.07_mlp.kill_resume
         COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/kill_resume.sh $<TARGET_FILE:07_mlp>)
set_tests_properties(lesson.07_mlp.kill_resume PROPERTIES LABELS "lesson;slow" TIMEOUT 120)
