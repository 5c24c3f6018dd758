# Lesson 15 loads what Python made. export.py trains lesson 08's CNN briefly and writes TorchScript
# modules and state_dicts into the build tree, build/<preset>/exported/15_torchscript_interop
# (never committed), where course::exported_dir("15_torchscript_interop") finds them. The build
# runs it, so `./course build 15`, `./course run 15` and `./course test` find them. The Python is
# the one with torch that ./course found (COURSE_TORCH_PYTHON, set by its configure), else the
# first python3.
# add_lesson() includes this file; `dir` is the lesson's folder.
if(COURSE_TORCH_PYTHON)
  set(lesson15_python ${COURSE_TORCH_PYTHON})
else()
  find_package(Python3 REQUIRED COMPONENTS Interpreter)
  set(lesson15_python ${Python3_EXECUTABLE})
endif()
set(lesson15_models ${CMAKE_BINARY_DIR}/exported/15_torchscript_interop)
set(lesson15_files backbone.pt classifier_scripted.pt classifier_traced.pt fixed_state.pt
                   fixed_scripted.pt fixed_traced.pt)
list(TRANSFORM lesson15_files PREPEND ${lesson15_models}/)
add_custom_command(
  OUTPUT ${lesson15_files}
  COMMAND ${lesson15_python} ${dir}/export.py --out ${lesson15_models} --threads 2
  DEPENDS ${dir}/export.py ${PROJECT_SOURCE_DIR}/lessons/08_cnn/reference.py
          ${PROJECT_SOURCE_DIR}/common/python/course_common.py
  COMMENT "lesson 15: export.py trains lesson 08's CNN on classes 0-4 and exports it (seconds)"
  VERBATIM)
add_custom_target(15_torchscript_interop_models DEPENDS ${lesson15_files})
add_dependencies(15_torchscript_interop 15_torchscript_interop_models)
if(TARGET test_15_torchscript_interop)
  # The test also runs reference.py (a C++ -> Python -> C++ round trip of weights).
  add_dependencies(test_15_torchscript_interop 15_torchscript_interop_models)
endif()
if(NOT COURSE_BUILD_TESTS)
  return()
endif()
# Python reads the weights the smoke run (lesson.15_torchscript_interop) wrote with
# torch::pickle_save into its own nn.Module, strictly, and scores them on classes 5-9.
set_tests_properties(lesson.15_torchscript_interop PROPERTIES FIXTURES_SETUP 15_finetuned)
add_test(NAME lesson.15_torchscript_interop.python_reads_cpp
         COMMAND ${lesson15_python} ${dir}/reference.py --smoke --threads 2 --evaluate
                 ${CMAKE_BINARY_DIR}/test-workdir/15_torchscript_interop/out/run_1/finetuned.pt)
set_tests_properties(
  lesson.15_torchscript_interop.python_reads_cpp
  PROPERTIES FIXTURES_REQUIRED 15_finetuned LABELS lesson
             PASS_REGULAR_EXPRESSION "evaluate: 16 tensors from .* \\| test acc 0\\.[7-9][0-9]+ on")
