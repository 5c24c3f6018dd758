"""Writes lessons/05_logistic_regression/exercises/golden.json: what the solutions must give.

    python lessons/05_logistic_regression/exercises/golden.py

Inputs are made without a random stream (sin, cos of arange), so a rerun leaves no diff.
"""
import pathlib
import sys

import torch
import torch.nn.functional as F

ROOT = pathlib.Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "tests" / "support"))
import exercise_golden  # noqa: E402


def cases():
    logits = 3 * torch.sin(torch.arange(20, dtype=torch.float32) * 1.3).reshape(4, 5)
    labels = torch.tensor([0, 3, 4, 1])
    large = logits + 1000
    scores = torch.cos(torch.arange(24, dtype=torch.float32) * 0.8).reshape(8, 3)
    targets = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])
    return {
        "cross_entropy": {"inputs": {"logits": logits, "labels": labels, "large_logits": large},
                          "outputs": {"loss": F.cross_entropy(logits, labels),
                                      "large_loss": F.cross_entropy(large, labels)}},
        "accuracy": {"inputs": {"logits": scores, "labels": targets},
                     "outputs": {"accuracy": (scores.argmax(1) == targets).double().mean().item()}},
    }


if __name__ == "__main__":
    exercise_golden.write("05_logistic_regression", cases())
