"""Writes lessons/02_autograd/exercises/golden.json: what the exercises' solutions must give.

    python lessons/02_autograd/exercises/golden.py

Inputs are made without a random stream (linspace), so a rerun leaves no diff.
"""
import pathlib
import sys

import torch

ROOT = pathlib.Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "tests" / "support"))
import exercise_golden  # noqa: E402


def cases():
    x = torch.linspace(-2, 2, 9)
    leaf = x.clone().requires_grad_(True)
    (leaf ** 3 - 2 * leaf ** 2 + 3 * leaf - 1).sum().backward()
    x64 = torch.linspace(-2, 2, 9, dtype=torch.float64)
    leaf64 = x64.clone().requires_grad_(True)
    (first,) = torch.autograd.grad(torch.tanh(leaf64).sum(), leaf64, create_graph=True)
    (second,) = torch.autograd.grad(first.sum(), leaf64)
    return {
        "cubic_slope": {"inputs": {"x": x}, "outputs": {"slope": leaf.grad}},
        "tanh_second_derivative": {"inputs": {"x": x64}, "outputs": {"second": second}},
    }


if __name__ == "__main__":
    exercise_golden.write("02_autograd", cases())
