#!/usr/bin/env python3
"""export.py: the Python half of lesson 15. It trains lesson 08's CNN briefly on the first five
Fashion-MNIST classes (0-4) and writes what the C++ program loads, into --out DIR:

    backbone.pt              the trained model's state_dict (weights and batch-norm statistics),
                             torch.save of a plain dict: main.cpp reads it with torch::pickle_load
    classifier_scripted.pt   the trained model with its preprocessing (Classifier), torch.jit.script
    classifier_traced.pt     the same model, torch.jit.trace: the `if` on the data is lost
    fixed_scripted.pt, fixed_traced.pt, fixed_state.pt
                             a small Cnn with fixed weights (no training, no random stream), the
                             same three ways, for test.cpp (its outputs are in golden.json)

The build runs it (lesson.cmake: `./course build 15` makes build/<preset>/exported/15_...);
by hand:  python lessons/15_torchscript_interop/export.py --out DIR [--threads 2]

TorchScript (torch.jit.script, torch.jit.trace) is deprecated in PyTorch 2.11 and its functions
warn; this script catches those warnings and prints one line instead. Lesson 16 (AOTInductor) is
the way forward; torch::jit::load in C++ still loads these files.
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

PRETRAIN_CLASSES = 5  # the backbone learns classes 0-4; lesson 15 fine-tunes it on 5-9
PRETRAIN_IMAGES = 15000  # half of the training images of classes 0-4: one pass, seconds
BATCH = 128


Cnn = course_common.lesson_reference("08_cnn").Cnn


class Classifier(nn.Module):
    """What gets deployed: raw pixels in [0, 1] (B, 1, 28, 28) -> logits (B, classes).
    A batch of negatives (dark clothes on a light background, mean above 0.5) is inverted first.
    That `if` depends on the data: torch.jit.script keeps it, torch.jit.trace records only the
    branch its example input took."""

    def __init__(self, cnn):
        super().__init__()
        self.cnn = cnn

    def forward(self, pixels):
        if pixels.mean() > 0.5:  # negatives: invert them back
            pixels = 1.0 - pixels
        return self.cnn((pixels - course_common.FASHION_MEAN) / course_common.FASHION_STD)


def save_state_dict(model, path):
    """torch.save of the state_dict as a plain dict: C++'s torch::pickle_load cannot read the
    OrderedDict that state_dict() returns (its class is Python's, not one TorchScript knows)."""
    torch.save(dict(model.state_dict()), path)


def load_state_dict(model, path):
    """model.load_state_dict(torch.load(path)) for a file C++ wrote with torch::pickle_save. Its
    dict is tagged with its type by torch.jit._pickle.restore_type_tag, which torch.load's
    weights_only mode (the default since PyTorch 2.6) refuses unless allowed by name."""
    import torch.jit._pickle
    with torch.serialization.safe_globals([torch.jit._pickle.restore_type_tag]):
        state = torch.load(path, map_location="cpu")
    model.load_state_dict(state)  # strict: the same names, the same shapes, nothing else


def fixed_cnn():
    """A small Cnn (4-4 channels, 8 hidden, 5 classes) whose every weight and batch-norm statistic
    comes from sin/cos of its position: no random stream, so golden.json stays stable."""
    return course_common.fixed_weights(
        Cnn(channels1=4, channels2=4, hidden=8, classes=PRETRAIN_CLASSES, dropout=0.0))


def fixed_pixels(count):
    """(count, 1, 28, 28) in [0, 1], mean about 0.3 (like Fashion-MNIST): stripes, no randomness."""
    position = torch.arange(28 * 28, dtype=torch.float32).reshape(1, 1, 28, 28)
    frequency = 0.01 * (1 + torch.arange(count, dtype=torch.float32)).reshape(count, 1, 1, 1)
    return 0.3 + 0.25 * torch.sin(position * frequency)


def to_torchscript(cnn, example):
    """(scripted, traced) Classifier around `cnn`, in eval mode. The deprecation warnings of
    torch.jit become one printed line; the tracer's warning about the `if` is the lesson's point."""
    classifier = Classifier(cnn).eval()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scripted = torch.jit.script(classifier)
        traced = torch.jit.trace(classifier, example)
    kinds = sorted({w.category.__name__ for w in caught})
    if kinds:  # 2.11: DeprecationWarning and TracerWarning; 2.6: only the TracerWarning
        print(f"export: torch.jit warned ({', '.join(kinds)}): the tracer cannot record the `if` "
              "on the data" + (", and TorchScript is deprecated" if "DeprecationWarning" in kinds
                               else ""))
    return scripted, traced


def pretrain(args):
    """Lesson 08's CNN with a 5-class head, trained for one pass over 15000 training images of
    classes 0-4 (Adam 1e-3, batches of 128). Returns it in eval mode."""
    images, labels = course_common.load_fashion(args, train=True)
    keep = labels < PRETRAIN_CLASSES
    x = course_common.normalize_fashion(images[keep][:PRETRAIN_IMAGES])
    y = labels[keep][:PRETRAIN_IMAGES]
    model = Cnn(classes=PRETRAIN_CLASSES)
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
    keep = test_labels < PRETRAIN_CLASSES
    with torch.no_grad():
        predicted = model(course_common.normalize_fashion(test_images[keep])).argmax(1)
    accuracy = (predicted == test_labels[keep]).float().mean().item()
    print(f"export: backbone trained on {x.shape[0]} images of classes 0-4, test accuracy "
          f"{accuracy:.4f}")
    return model, test_images[keep]


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

    # The small fixed model for test.cpp.
    fixed = fixed_cnn()
    save_state_dict(fixed, out / "fixed_state.pt")
    scripted, traced = to_torchscript(fixed, fixed_pixels(2))
    # Saved in train() mode on purpose: a scripted module reads self.training when it runs, so
    # test.cpp sees whether load_torchscript puts it in eval() (the trace froze eval() in).
    scripted.train().save(str(out / "fixed_scripted.pt"))
    traced.save(str(out / "fixed_traced.pt"))

    # The trained backbone, and the deployed classifier around it, for main.cpp.
    model, test_images = pretrain(args)
    save_state_dict(model, out / "backbone.pt")
    example = test_images[:8].float().unsqueeze(1) / 255  # ordinary images: the `if` is false
    scripted, traced = to_torchscript(model, example)
    scripted.save(str(out / "classifier_scripted.pt"))
    traced.save(str(out / "classifier_traced.pt"))
    print(f"export: wrote backbone.pt, classifier_scripted.pt, classifier_traced.pt and the fixed "
          f"test models in {out} ({time.time() - clock:.1f}s)")


if __name__ == "__main__":
    main()
