"""Writes lessons/11_char_lm/exercises/golden.json: what the exercises' solutions must give.

    python lessons/11_char_lm/exercises/golden.py

Inputs are made without a random stream (sin of arange, fixed lists), so a rerun leaves no diff.
"""
import pathlib
import sys

import torch
import torch.nn.functional as F

ROOT = pathlib.Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "tests" / "support"))
import exercise_golden  # noqa: E402


def cut_into_windows(tokens, streams, window):  # lesson 11's make_windows
    length = (tokens.shape[0] - 1) // streams
    inputs = tokens[:streams * length].view(streams, length)
    targets = tokens[1:streams * length + 1].view(streams, length)
    return inputs.split(window, 1), targets.split(window, 1)


def windows_case(count, streams, window):
    tokens = (torch.arange(count) * 7 + 3) % 29  # (N) int64, no two neighbours equal
    inputs, targets = cut_into_windows(tokens, streams, window)
    outputs = {f"inputs_{i}": x for i, x in enumerate(inputs)}
    outputs.update({f"targets_{i}": y for i, y in enumerate(targets)})
    outputs["windows"] = len(inputs)
    return {"inputs": {"tokens": tokens, "streams": streams, "window": window}, "outputs": outputs}


def next_token_probabilities(logits, temperature, top_k):  # lesson 11's sample_next, before drawing
    if temperature == 0:
        return F.one_hot(logits.argmax(), logits.shape[0]).float()
    scaled = logits / temperature
    if 0 < top_k < scaled.shape[0]:
        kth = scaled.topk(top_k)[0].min()
        scaled = scaled.masked_fill(scaled < kth, float("-inf"))
    return torch.softmax(scaled, 0)


def cases():
    logits = 2 * torch.sin(torch.arange(8, dtype=torch.float32) * 1.7)  # (8)
    tied = torch.tensor([0.5, 2.0, 1.0, 2.0, 1.0, -1.0])  # the 3rd and 4th largest tie at 1.0
    settings = {"t0.5_k3": (0.5, 3), "t2_k0": (2.0, 0), "t1_k8": (1.0, 8), "t0_k0": (0.0, 0)}
    distributions = {name: next_token_probabilities(logits, t, k)
                     for name, (t, k) in settings.items()}
    distributions["tied_k3"] = next_token_probabilities(tied, 1.0, 3)
    return {
        "windows": windows_case(count=23, streams=3, window=3),
        "windows_exact": windows_case(count=20, streams=4, window=4),
        "next_token": {"inputs": {"logits": logits, "tied": tied}, "outputs": distributions},
    }


if __name__ == "__main__":
    exercise_golden.write("11_char_lm", cases())
