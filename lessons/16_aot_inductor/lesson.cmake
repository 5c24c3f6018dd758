# Lesson 16 loads what Python made, as lesson 15 does. export.py builds lesson 08's CNN with fixed
# weights and writes cnn.pt2 (torch.export + AOTInductor), cnn_scripted.pt (TorchScript),
# cnn_state.pt (a state_dict) and cnn_exported.pt2 (torch.export.save, which the C++ loader must
# refuse) into the build tree, build/<preset>/exported/16_aot_inductor (never committed). The build
# runs it, so `./course build 16`, `./course run 16` and `./course test` find them. The Python is
# the one with torch that ./course found (COURSE_TORCH_PYTHON), else the first python3.
# add_lesson() includes this file; `dir` is the lesson's folder.
if(COURSE_TORCH_PYTHON)
  set(lesson16_python ${COURSE_TORCH_PYTHON})
else()
  find_package(Python3 REQUIRED COMPONENTS Interpreter)
  set(lesson16_python ${Python3_EXECUTABLE})
endif()
set(lesson16_models ${CMAKE_BINARY_DIR}/exported/16_aot_inductor)
set(lesson16_files cnn.pt2 cnn_scripted.pt cnn_state.pt cnn_exported.pt2)
list(TRANSFORM lesson16_files PREPEND ${lesson16_models}/)
add_custom_command(
  OUTPUT ${lesson16_files}
  COMMAND ${lesson16_python} ${dir}/export.py --out ${lesson16_models} --threads 2
  DEPENDS ${dir}/export.py ${PROJECT_SOURCE_DIR}/lessons/08_cnn/reference.py
  COMMENT "lesson 16: export.py exports lesson 08's CNN and compiles it with AOTInductor (~1 min)"
  VERBATIM)
add_custom_target(16_aot_inductor_models DEPENDS ${lesson16_files})
add_dependencies(16_aot_inductor 16_aot_inductor_models)
if(TARGET test_16_aot_inductor)
  add_dependencies(test_16_aot_inductor 16_aot_inductor_models)
endif()
