"""Writes lessons/12_transformer/exercises/golden.json: what the exercises' solutions must give.

    python lessons/12_transformer/exercises/golden.py

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
    shape = (2, 2, 5, 4)  # B, H, T, D
    n = torch.arange(2 * 2 * 5 * 4, dtype=torch.float32)
    q = torch.sin(n * 0.7).reshape(shape) * 1.5
    k = torch.cos(n * 1.3).reshape(shape) * 1.5
    v = torch.sin(n * 0.4 + 1).reshape(shape)
    out = F.scaled_dot_product_attention(q, k, v, None, 0.0, is_causal=True)  # (B, H, T, D)
    return {"attention": {"inputs": {"q": q, "k": k, "v": v}, "outputs": {"out": out}}}


if __name__ == "__main__":
    exercise_golden.write("12_transformer", cases())
