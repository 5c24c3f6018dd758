"""Writes lessons/16_aot_inductor/exercises/golden.json: what the solutions must give.

    python lessons/16_aot_inductor/exercises/golden.py

Inputs are made without a random stream (sin, cos of arange), so a rerun leaves no diff.
"""
import math
import pathlib
import statistics
import sys

import torch
import torch.nn.functional as F

ROOT = pathlib.Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "tests" / "support"))
import exercise_golden  # noqa: E402


def run_fixed_batches(images, batch, forward):
    """The Python line of exercise 16.1."""
    chunks = [F.pad(c, (0, 0) * (c.dim() - 1) + (0, batch - len(c))) for c in images.split(batch)]
    return torch.cat([forward(c) for c in chunks])[:len(images)]


def latency_summary(ms):
    """The Python line of exercise 16.2."""
    return statistics.median(ms), sorted(ms)[math.ceil(0.99 * len(ms)) - 1]


def cases():
    images = torch.sin(torch.arange(11 * 16, dtype=torch.float32) * 0.37).reshape(11, 1, 4, 4)
    weight = torch.cos(torch.arange(16 * 3, dtype=torch.float32) * 0.21).reshape(16, 3)

    def forward(x):  # the "compiled model": one linear map per image, (b, 1, 4, 4) -> (b, 3)
        assert len(x) == 4
        return x.flatten(1) @ weight

    logits = images.flatten(1) @ weight  # (11, 3): the whole batch at once
    assert torch.allclose(run_fixed_batches(images, 4, forward), logits, atol=1e-6)

    runs = [2 + 0.3 * math.sin(i * 0.37) for i in range(200)]  # 200 runs around 2 ms
    runs[17], runs[90], runs[151] = 12.0, 7.0, 9.5  # three slow outliers
    lists = {"n200": runs, "n5": [3.0, 1.0, 4.0, 1.5, 9.0], "n4": [4.0, 1.0, 3.0, 2.0],
             "n1": [0.7]}
    latency = {"inputs": {}, "outputs": {}}
    for name, ms in lists.items():
        median, p99 = latency_summary(ms)
        latency["inputs"][name] = torch.tensor(ms, dtype=torch.float64)
        latency["outputs"][name + "_median"] = median
        latency["outputs"][name + "_p99"] = p99
    return {
        "fixed_batches": {"inputs": {"images": images, "weight": weight},
                          "outputs": {"logits": logits}},
        "latency": latency,
    }


if __name__ == "__main__":
    exercise_golden.write("16_aot_inductor", cases())
