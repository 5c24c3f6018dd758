"""Writes lessons/03_modules/exercises/golden.json: what the exercises' solutions must give.

    python lessons/03_modules/exercises/golden.py

Inputs and weights are made without a random stream (sin, cos of arange), so a rerun leaves no
diff.
"""
import pathlib
import sys

import torch
from torch import nn

ROOT = pathlib.Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "tests" / "support"))
import exercise_golden  # noqa: E402


class ResidualBlock(nn.Module):
    def __init__(self, features):
        super().__init__()
        self.fc1 = nn.Linear(features, features)
        self.fc2 = nn.Linear(features, features)

    def forward(self, x):
        return x + self.fc2(torch.relu(self.fc1(x)))


def cases():
    block = ResidualBlock(4)
    weights = {}
    with torch.no_grad():
        for k, (name, parameter) in enumerate(block.named_parameters()):
            values = torch.sin(torch.arange(parameter.numel(), dtype=torch.float32) * 0.9 + k)
            parameter.copy_(0.6 * values.reshape(parameter.shape))
            weights[name] = parameter.detach().clone()
    x = torch.cos(torch.arange(12, dtype=torch.float32) * 0.5).reshape(3, 4) * 2
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    trainable = lambda m: sum(p.numel() for p in m.parameters() if p.requires_grad)  # noqa: E731
    everything = trainable(model)
    model[0].requires_grad_(False)
    return {
        "residual_block": {"inputs": {"x": x, **weights}, "outputs": {"y": block(x)}},
        "count_trainable": {"inputs": {}, "outputs": {"all": everything,
                                                      "first_frozen": trainable(model)}},
    }


if __name__ == "__main__":
    exercise_golden.write("03_modules", cases())
