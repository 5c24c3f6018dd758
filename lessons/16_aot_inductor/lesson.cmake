# Lesson 16 loads what Python made, as lesson 15 does. export.py builds lesson 08's CNN with fixed
# weights and writes cnn.pt2 (torch.export + AOTInductor), cnn_scripted.pt (TorchScript),
# cnn_state.pt (a state_dict) and cnn_exported.pt2 (torch.export.save, which the C++ loader must
# refuse) into the build tree, build/<preset>/exported/16_aot_inductor (never committed). The build
# runs it (course_export_models, cmake/CourseLesson.cmake), so `./course build 16`, `./course run
# 16` and `./course test` find them.
# add_lesson() includes this file; `dir` is the lesson's folder.
course_export_models(
  FILES cnn.pt2 cnn_scripted.pt cnn_state.pt cnn_exported.pt2
  COMMENT "export.py exports lesson 08's CNN and compiles it with AOTInductor (~1 min)")
