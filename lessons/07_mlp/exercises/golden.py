"""Writes lessons/07_mlp/exercises/golden.json: what the exercises' solutions must give.

    python lessons/07_mlp/exercises/golden.py

Inputs and weights are made without a random stream (sin, cos of arange), so a rerun leaves no
diff. The outputs are eval() mode's: dropout off, nothing random.
"""
import pathlib
import sys

import torch
import torch.nn.functional as F
from torch import nn

ROOT = pathlib.Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "tests" / "support"))
sys.path.insert(0, str(ROOT / "common" / "python"))
import course_common  # noqa: E402
import exercise_golden  # noqa: E402


class DropoutMlp(nn.Module):
    def __init__(self, in_features, hidden, classes, p):
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden)
        self.fc2 = nn.Linear(hidden, classes)
        self.p = p

    def forward(self, x):
        x = torch.relu(self.fc1(x.flatten(1)))
        return self.fc2(F.dropout(x, self.p, self.training))


Mlp = course_common.lesson_reference("07_mlp").Mlp  # lesson 07's mlp.h


def set_weights(model, scale, shift):
    """Deterministic weights; returns them by name (fc1.weight, ...) for the C++ side."""
    weights = {}
    with torch.no_grad():
        for k, (name, parameter) in enumerate(model.named_parameters()):
            values = torch.arange(parameter.numel(), dtype=torch.float32) * 0.7 + k + shift
            values = torch.sin(values)
            parameter.copy_(scale * values.reshape(parameter.shape))
            weights[name] = parameter.detach().clone()
    return weights


def cases():
    mlp = DropoutMlp(6, 16, 3, 0.5)
    mlp_weights = set_weights(mlp, 0.5, 0.0)
    images = torch.cos(torch.arange(3 * 6, dtype=torch.float32) * 0.45).reshape(3, 1, 2, 3) * 2
    mlp.eval()
    logits = mlp(images)

    model = Mlp(6, [8], 3, dropout=0.5)
    model_weights = set_weights(model, 0.8, 1.0)
    x = torch.cos(torch.arange(10 * 6, dtype=torch.float32) * 0.37).reshape(10, 6) * 2
    y = torch.tensor([0, 1, 2, 2, 1, 0, 0, 2, 1, 1])
    model.eval()
    with torch.no_grad():
        out = model(x)
    loss = F.cross_entropy(out, y).item()
    accuracy = (out.argmax(1) == y).sum().item() / len(y)
    batch_means = torch.stack([F.cross_entropy(out[i:i + 4], y[i:i + 4]) for i in (0, 4, 8)])
    assert abs(batch_means.mean().item() - loss) > 1e-3, "the mean of batch means must differ"
    return {
        "dropout_forward": {"inputs": {"images": images, **mlp_weights},
                            "outputs": {"logits": logits}},
        "evaluate": {"inputs": {"x": x, "y": y, "batch_size": 4, **model_weights},
                     "outputs": {"loss": loss, "accuracy": accuracy}},
    }


if __name__ == "__main__":
    exercise_golden.write("07_mlp", cases())
