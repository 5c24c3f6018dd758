// Empty on purpose: this file only gives the course_pch target something to compile, so that the
// precompiled header (<torch/torch.h>, fmt, OpenCV core) is built once and reused by every target.
