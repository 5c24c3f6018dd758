#!/usr/bin/env python3
"""export.py: the Python half of lesson 16. It builds lesson 08's CNN with fixed weights (sin/cos
of their position: no training, no random stream, the same on every machine) and writes, into
--out DIR, the same model three ways for the C++ program, plus one file it must refuse:

    cnn.pt2           torch.export.export (batch dimension dynamic), then
                      torch._inductor.aoti_compile_and_package: an AOTInductor package, the model
                      compiled to a shared library. C++: torch::inductor::AOTIModelPackageLoader
    cnn_scripted.pt   torch.jit.script of the same model (lesson 15). C++: torch::jit::load
    cnn_state.pt      its state_dict, torch.save of a plain dict. C++: torch::pickle_load, copied
                      into lesson 08's C++ Cnn (eager LibTorch)
    cnn_exported.pt2  torch.export.save of the same ExportedProgram: also a .pt2 zip, but a graph
                      to be compiled, not compiled code. The C++ loader refuses it (test.cpp)

The build runs it (lesson.cmake: `./course build 16` makes build/<preset>/exported/16_...);
by hand:  python lessons/16_aot_inductor/export.py --out DIR [--threads 2]
aoti_compile_and_package runs a C++ compiler; on Debian 13 it needs python3-setuptools.
"""
import argparse
import math
import pathlib
import sys
import time
import warnings

import torch

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "common" / "python"))
import course_common  # noqa: E402

BATCH_EXAMPLE = 2  # the batch of the example input; export would fix a batch of 1 to 1
MAX_BATCH = 1024  # the dynamic batch dimension's range: 1 ... MAX_BATCH

Cnn = course_common.lesson_reference("08_cnn").Cnn


def fixed_cnn():
    """Lesson 08's Cnn (32-64 channels, 128 hidden, 10 classes) in eval mode, whose every weight
    and batch-norm statistic comes from sin/cos of its position: golden.json stays stable, and
    Python and C++ (on LibTorch 2.6 as on 2.11) start from the very same numbers."""
    return course_common.fixed_weights(Cnn(), weight_gain=math.sqrt(3.0))


def fixed_images(count):
    """(count, 1, 28, 28), normalised like Fashion-MNIST (mean about 0, spread about 1): stripes of
    a different frequency per image, no randomness. main.cpp makes the same ones."""
    position = torch.arange(28 * 28, dtype=torch.float32).reshape(1, 1, 28, 28)
    frequency = 0.01 * (1 + torch.arange(count, dtype=torch.float32)).reshape(count, 1, 1, 1)
    return torch.sin(position * frequency)


def export_program(model):
    """torch.export.export with a dynamic batch: the graph holds for any batch 1 ... MAX_BATCH."""
    batch = torch.export.Dim("batch", min=1, max=MAX_BATCH)
    return torch.export.export(model, (fixed_images(BATCH_EXAMPLE),),
                               dynamic_shapes={"images": {0: batch}})


def to_torchscript(model):
    """torch.jit.script; its deprecation warning (PyTorch 2.11) becomes one printed line."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scripted = torch.jit.script(model)
    if any(issubclass(w.category, DeprecationWarning) for w in caught):
        print("export: torch.jit.script warned that TorchScript is deprecated (lesson 15)")
    return scripted


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True, help="folder for the .pt2 and .pt files")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    clock = time.time()

    model = fixed_cnn()
    torch.save(dict(model.state_dict()), out / "cnn_state.pt")
    # Saved in train() mode on purpose (as in lesson 15): a scripted module reads self.training
    # when it runs, so test.cpp sees whether load_torchscript puts it in eval().
    to_torchscript(model).train().save(str(out / "cnn_scripted.pt"))

    program = export_program(model)
    torch.export.save(program, str(out / "cnn_exported.pt2"))
    exported = time.time()
    # Inductor writes C++ for the graph, compiles it into a shared library and zips it up with
    # the weights. Written in a folder of its own first and moved when complete, so that an
    # interrupted build leaves no half-written cnn.pt2 (the zip's folder inside is named "cnn").
    partial = out / "partial"
    partial.mkdir(exist_ok=True)
    package = torch._inductor.aoti_compile_and_package(program,
                                                       package_path=str(partial / "cnn.pt2"))
    pathlib.Path(package).replace(out / "cnn.pt2")
    partial.rmdir()
    print(f"export: wrote cnn.pt2 (torch.export {exported - clock:.1f}s, AOTInductor compile "
          f"{time.time() - exported:.1f}s), cnn_scripted.pt, cnn_state.pt and cnn_exported.pt2 "
          f"in {out}")


if __name__ == "__main__":
    main()
