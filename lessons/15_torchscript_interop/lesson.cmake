# Lesson 15 loads what Python made. export.py trains lesson 08's CNN briefly and writes TorchScript
# modules and state_dicts into the build tree, build/<preset>/exported/15_torchscript_interop
# (never committed), where course::exported_dir("15_torchscript_interop") finds them. The build
# runs it (course_export_models, cmake/CourseLesson.cmake), so `./course build 15`, `./course run
# 15` and `./course test` find them; the test also runs reference.py (a C++ -> Python -> C++ round
# trip of weights).
# add_lesson() includes this file; `dir` is the lesson's folder.
course_export_models(
  FILES backbone.pt classifier_scripted.pt classifier_traced.pt fixed_state.pt fixed_scripted.pt
        fixed_traced.pt
  COMMENT "export.py trains lesson 08's CNN on classes 0-4 and exports it (seconds)")
if(NOT COURSE_BUILD_TESTS)
  return()
endif()
# Python reads the weights the smoke run (lesson.15_torchscript_interop) wrote with
# torch::pickle_save into its own nn.Module, strictly, and scores them on classes 5-9.
set_tests_properties(lesson.15_torchscript_interop PROPERTIES FIXTURES_SETUP 15_finetuned)
add_test(NAME lesson.15_torchscript_interop.python_reads_cpp
         COMMAND ${COURSE_TORCH_PYTHON} ${dir}/reference.py --smoke --threads 2 --evaluate
                 ${CMAKE_BINARY_DIR}/test-workdir/15_torchscript_interop/out/run_1/finetuned.pt)
set_tests_properties(
  lesson.15_torchscript_interop.python_reads_cpp
  PROPERTIES FIXTURES_REQUIRED 15_finetuned LABELS lesson
             PASS_REGULAR_EXPRESSION "evaluate: 16 tensors from .* \\| test acc 0\\.[7-9][0-9]+ on")
