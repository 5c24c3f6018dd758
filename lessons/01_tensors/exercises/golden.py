"""Writes lessons/01_tensors/exercises/golden.json: what the exercises' solutions must give.

    python lessons/01_tensors/exercises/golden.py

Inputs are made without a random stream (arange, sin, cos), so a rerun leaves no diff.
"""
import pathlib
import sys

import torch

ROOT = pathlib.Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "tests" / "support"))
import exercise_golden  # noqa: E402


def cases():
    points = torch.sin(torch.arange(15, dtype=torch.float32) * 0.7).reshape(5, 3) * 3
    centers = torch.cos(torch.arange(12, dtype=torch.float32) * 0.4).reshape(4, 3) * 2
    distances = (points[:, None] - centers[None]).pow(2).sum(-1).sqrt()
    rows, columns = torch.arange(5).reshape(5, 1), torch.arange(5).reshape(1, 5)
    return {
        "pairwise_distances": {"inputs": {"points": points, "centers": centers},
                               "outputs": {"distances": distances}},
        "checkerboard": {"inputs": {"n": 5},
                         "outputs": {"board5": ((rows + columns) % 2 == 0).float()}},
    }


if __name__ == "__main__":
    exercise_golden.write("01_tensors", cases())
