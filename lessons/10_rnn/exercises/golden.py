"""Writes lessons/10_rnn/exercises/golden.json: what the exercises' solutions must give.

    python lessons/10_rnn/exercises/golden.py

Inputs and weights are made without a random stream (sin, cos of arange), so a rerun leaves no
diff.
"""
import pathlib
import sys

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

ROOT = pathlib.Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "tests" / "support"))
import exercise_golden  # noqa: E402


def set_weights(module, shift):
    weights = {}
    with torch.no_grad():
        for k, (name, parameter) in enumerate(module.named_parameters()):
            values = torch.arange(parameter.numel(), dtype=torch.float32) * 0.9 + k + shift
            values = torch.sin(values)
            parameter.copy_(0.5 * values.reshape(parameter.shape))
            weights[name] = parameter.detach().clone()
    return weights


def cases():
    cell = nn.LSTMCell(3, 4)
    cell_weights = set_weights(cell, 0.0)
    x = torch.cos(torch.arange(2 * 3, dtype=torch.float32) * 0.7).reshape(2, 3)
    h = torch.sin(torch.arange(2 * 4, dtype=torch.float32) * 0.5).reshape(2, 4) * 0.5
    c = torch.cos(torch.arange(2 * 4, dtype=torch.float32) * 0.3).reshape(2, 4)
    with torch.no_grad():
        h_next, c_next = cell(x, (h, c))

    gru = nn.GRU(4, 5, batch_first=True)
    gru_weights = set_weights(gru, 2.0)
    # The padding steps hold numbers too (not zeros): reading them would change the state.
    vectors = torch.cos(torch.arange(3 * 6 * 4, dtype=torch.float32) * 0.41).reshape(3, 6, 4)
    lengths = torch.tensor([6, 2, 4])  # not sorted: the packing must not need sorted lengths
    packed = pack_padded_sequence(vectors, lengths, batch_first=True, enforce_sorted=False)
    with torch.no_grad():
        _, h_n = gru(packed)
    return {
        "lstm_step": {"inputs": {"x": x, "h": h, "c": c, **cell_weights},
                      "outputs": {"h_next": h_next, "c_next": c_next}},
        "packed_final_state": {"inputs": {"vectors": vectors, "lengths": lengths, **gru_weights},
                               "outputs": {"final": h_n[-1]}},
    }


if __name__ == "__main__":
    exercise_golden.write("10_rnn", cases())
