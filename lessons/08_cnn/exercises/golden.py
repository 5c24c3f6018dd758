"""Writes lessons/08_cnn/exercises/golden.json: what the exercises' solutions must give.

    python lessons/08_cnn/exercises/golden.py

Inputs are made without a random stream (sin, cos, arange), so a rerun leaves no diff.
"""
import pathlib
import sys

import torch
import torch.nn.functional as F

ROOT = pathlib.Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "tests" / "support"))
import exercise_golden  # noqa: E402


def cases():
    # A small batch (2 images of 2x2): the variance's n (8) and n - 1 (7) differ clearly.
    x = (torch.sin(torch.arange(2 * 3 * 2 * 2, dtype=torch.float32) * 1.3) * 2 + 0.5).reshape(
        2, 3, 2, 2)
    weight = torch.tensor([1.5, 0.5, -1.0])
    bias = torch.tensor([0.1, -0.2, 0.3])
    eps = 1e-5
    y = F.batch_norm(x, None, None, weight, bias, training=True, eps=eps)

    predicted = torch.arange(20) * 7 % 4
    labels = torch.arange(20) * 3 % 4
    matrix = torch.zeros(4, 4, dtype=torch.int64)
    matrix.index_put_((labels, predicted), torch.ones_like(labels), accumulate=True)
    return {
        "batch_norm": {"inputs": {"x": x, "weight": weight, "bias": bias, "eps": eps},
                       "outputs": {"y": y}},
        "confusion": {"inputs": {"predicted": predicted, "labels": labels, "classes": 4},
                      "outputs": {"matrix": matrix}},
    }


if __name__ == "__main__":
    exercise_golden.write("08_cnn", cases())
