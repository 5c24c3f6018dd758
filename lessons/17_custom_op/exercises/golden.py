"""Writes lessons/17_custom_op/exercises/golden.json: what the solutions must give.

    python lessons/17_custom_op/exercises/golden.py

Inputs are made without a random stream (sin, cos of arange), so a rerun leaves no diff. The
expected gradients are autograd's, of F.silu(a) * b: what the formulas by hand must match.
"""
import pathlib
import sys

import torch
import torch.nn.functional as F

ROOT = pathlib.Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "tests" / "support"))
import exercise_golden  # noqa: E402


def swiglu_case(shape, scale, offset):
    n = 1
    for size in shape:
        n *= size
    index = torch.arange(n, dtype=torch.float32)
    a = (scale * torch.sin(index * 0.9 + offset)).reshape(shape)  # some |a| large: s near 0, 1
    b = (2 * torch.cos(index * 0.4 + offset)).reshape(shape)
    grad = (1 + 0.5 * torch.sin(index * 1.7)).reshape(shape)  # dL/d out: not all ones
    a_ = a.clone().requires_grad_()
    b_ = b.clone().requires_grad_()
    out = F.silu(a_) * b_
    grad_a, grad_b = torch.autograd.grad(out, (a_, b_), grad)
    return {"inputs": {"a": a, "b": b, "grad": grad},
            "outputs": {"out": out.detach(), "grad_a": grad_a, "grad_b": grad_b}}


def cases():
    return {"backward": swiglu_case((3, 4), 3.0, 0.0),
            "saturated": swiglu_case((2, 5), 12.0, 0.3),  # sigmoid near 0 and 1
            "function": swiglu_case((4, 3), 2.5, 0.7)}


if __name__ == "__main__":
    exercise_golden.write("17_custom_op", cases())
