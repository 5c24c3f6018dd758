"""Writes lessons/15_torchscript_interop/exercises/golden.json: what the exercises' solutions must
give.

    python lessons/15_torchscript_interop/exercises/golden.py

The exercises check names, shapes and flags, not values: the golden file holds what Python's own
load_state_dict(strict=False) and requires_grad_ report for lesson 08's Cnn (small widths), so no
random stream is involved.
"""
import pathlib
import sys

import torch

ROOT = pathlib.Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "tests" / "support"))
sys.path.insert(0, str(ROOT / "common" / "python"))
import course_common  # noqa: E402
import exercise_golden  # noqa: E402

WIDTHS = {"channels1": 4, "channels2": 8, "hidden": 16}  # grade.cpp's CnnOptions


Cnn = course_common.lesson_reference("08_cnn").Cnn  # lesson 08's model: the names are what matter


def check_counts(model, state):
    result = model.load_state_dict(state, strict=False)
    return {"missing": len(result.missing_keys), "unexpected": len(result.unexpected_keys)}


def cases():
    model = Cnn(**WIDTHS, classes=5)
    own = dict(model.state_dict())
    edited = dict(own)
    del edited["bn1.running_var"]
    edited["fc2.weight"] = torch.zeros(3, 3)
    ten_classes = dict(Cnn(**WIDTHS, classes=10).state_dict())
    mismatched = [n for n, t in model.state_dict().items() if ten_classes[n].shape != t.shape]

    for name, p in model.named_parameters():  # stage 1: only the head trains
        p.requires_grad_(name.startswith("head."))
    head_values = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return {
        # entries: 16 names, 6 of them buffers. (Python's load_state_dict(strict=False) lists 14
        # of them as missing from an empty dict: it forgives a missing num_batches_tracked.)
        "check": {"inputs": {}, "outputs": {"entries": len(own),
                                            "edited": check_counts(Cnn(**WIDTHS, classes=5),
                                                                   edited),
                                            "new_head_mismatched": len(mismatched)}},
        "freeze": {"inputs": {}, "outputs": {"head_values": head_values,
                                             "all_values": sum(p.numel()
                                                               for p in model.parameters()),
                                             "tensors": len(list(model.parameters()))}},
    }


if __name__ == "__main__":
    exercise_golden.write("15_torchscript_interop", cases())
