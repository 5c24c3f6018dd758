#!/usr/bin/env python3
"""export.py: the Python half of lesson 18. It trains lesson 08's CNN briefly on all ten
Fashion-MNIST classes and writes the model the C++ server serves, into --out DIR:

    classifier.pt    Served(cnn), torch.jit.script: raw pixels in [0, 1] (B, 1, 28, 28) ->
                     probabilities (B, 10); the normalisation and the softmax are inside the model
    fixed.pt         the same wrapper around a small Cnn with fixed weights (sin/cos, no training,
                     no random stream), for test.cpp: its outputs are in golden.json

The build runs it (lesson.cmake: `./course build 18` makes build/<preset>/exported/18_serving);
by hand:  python lessons/18_serving/export.py --out DIR [--threads 2]

Why TorchScript and not lesson 16's AOTInductor .pt2: one file that torch::jit::load runs on
LibTorch 2.6 and 2.11 alike, without a compiler at export time. TorchScript is deprecated in
PyTorch 2.11 (torch.jit.script warns; this script turns the warning into one printed line); the
modern way to ship the model is lesson 16's .pt2, and the server below would only change its
load and forward lines.
"""
import argparse
import pathlib
import sys
import time
import warnings

import torch
import torch.nn.functional as F
from torch import nn

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "common" / "python"))
import course_common  # noqa: E402

TRAIN_IMAGES = 12000  # one pass over the first 12000 training images: seconds on 2 cores
BATCH = 128


Cnn = course_common.lesson_reference("08_cnn").Cnn


class Served(nn.Module):
    """What the server runs: pixels in [0, 1] (B, 1, 28, 28) -> class probabilities (B, 10).
    Preprocessing and softmax live in the model, so a client sends pixels and reads answers."""

    def __init__(self, cnn):
        super().__init__()
        self.cnn = cnn

    def forward(self, pixels):
        logits = self.cnn((pixels - course_common.FASHION_MEAN) / course_common.FASHION_STD)
        return torch.softmax(logits, dim=1)


def fixed_cnn():
    """A small Cnn (4-4 channels, 8 hidden, 10 classes) whose every weight and batch-norm
    statistic comes from sin/cos of its position: no random stream, so golden.json stays stable.
    Weights and biases twice and three times the usual size, so the probabilities differ."""
    return course_common.fixed_weights(
        Cnn(channels1=4, channels2=4, hidden=8, classes=10, dropout=0.0), weight_gain=2.0,
        bias_amplitude=0.3)


def fixed_pixels(count):
    """(count, 1, 28, 28) in [0, 1], mean about 0.3 (like Fashion-MNIST): stripes, no randomness."""
    position = torch.arange(28 * 28, dtype=torch.float32).reshape(1, 1, 28, 28)
    frequency = 0.01 * (1 + torch.arange(count, dtype=torch.float32)).reshape(count, 1, 1, 1)
    return 0.3 + 0.25 * torch.sin(position * frequency)


_WARNED = False  # the deprecation is said once


def script(cnn):
    """Served(cnn) in eval mode, torch.jit.script; 2.11's deprecation warning becomes one line."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scripted = torch.jit.script(Served(cnn).eval())
    global _WARNED
    if any(w.category is DeprecationWarning for w in caught) and not _WARNED:
        _WARNED = True
        print("export: torch.jit.script warned that TorchScript is deprecated (lesson 16's .pt2 "
              "is the way forward)")
    return scripted


def train(args):
    """Lesson 08's CNN, one pass over TRAIN_IMAGES training images of all ten classes (Adam 1e-3,
    batches of 128). Returns it in eval mode."""
    images, labels = course_common.load_fashion(args, train=True)
    x = course_common.normalize_fashion(images[:TRAIN_IMAGES])
    y = labels[:TRAIN_IMAGES]
    model = Cnn(classes=10)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    order = torch.randperm(x.shape[0])
    for start in range(0, x.shape[0], BATCH):
        index = order[start:start + BATCH]
        optimizer.zero_grad()
        F.cross_entropy(model(x[index]), y[index]).backward()
        optimizer.step()
    model.eval()
    test_images, test_labels = course_common.load_fashion(args, train=False)
    with torch.no_grad():
        predicted = model(course_common.normalize_fashion(test_images)).argmax(1)
    accuracy = (predicted == test_labels).float().mean().item()
    print(f"export: CNN trained on {x.shape[0]} images of all ten classes, test accuracy "
          f"{accuracy:.4f}")
    return model


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True, help="folder for the .pt files")
    parser.add_argument("--data-dir", default="")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--smoke", action="store_true", help="train on 512 images only")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    clock = time.time()
    script(fixed_cnn()).save(str(out / "fixed.pt"))
    script(train(args)).save(str(out / "classifier.pt"))
    print(f"export: wrote classifier.pt and fixed.pt in {out} ({time.time() - clock:.1f}s)")


if __name__ == "__main__":
    main()
