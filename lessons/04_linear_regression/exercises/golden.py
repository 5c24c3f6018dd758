"""Writes lessons/04_linear_regression/exercises/golden.json: what the solutions must give.

    python lessons/04_linear_regression/exercises/golden.py

Inputs are made without a random stream (linspace, sin), so a rerun leaves no diff.
"""
import pathlib
import sys

import torch

ROOT = pathlib.Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "tests" / "support"))
import exercise_golden  # noqa: E402


def cases():
    features = torch.stack([torch.linspace(-1, 1, 6), torch.sin(torch.arange(6.0))], dim=1)
    y = 1.5 * features[:, 0] - 0.5 * features[:, 1] + 0.25
    weight = torch.zeros(2, requires_grad=True)
    bias = torch.zeros((), requires_grad=True)
    losses = []
    for _ in range(3):
        loss = (features @ weight + bias - y).pow(2).mean()
        loss.backward()
        with torch.no_grad():
            weight -= 0.1 * weight.grad
            bias -= 0.1 * bias.grad
            weight.grad.zero_()
            bias.grad.zero_()
        losses.append(loss.detach())
    x = torch.linspace(-2, 2, 8)
    line_y = 0.7 * x - 1.2 + 0.3 * torch.sin(3 * x)
    design = torch.stack([torch.ones(8), x], dim=1)
    line = torch.linalg.lstsq(design, line_y[:, None]).solution[:, 0]
    return {
        "gradient_step": {"inputs": {"features": features, "y": y, "lr": 0.1},
                          "outputs": {"losses": torch.stack(losses), "weight": weight.detach(),
                                      "bias": bias.detach()}},
        "fit_line": {"inputs": {"x": x, "y": line_y}, "outputs": {"line": line}},
    }


if __name__ == "__main__":
    exercise_golden.write("04_linear_regression", cases())
