"""Writes lessons/18_serving/exercises/golden.json: what the solutions must give.

    python lessons/18_serving/exercises/golden.py

Inputs are made without a random stream (sin, cos of arange), so a rerun leaves no diff. Times
are microseconds after an arbitrary start; a request's id is 100 + its place in the queue.
"""
import pathlib
import sys

import torch

ROOT = pathlib.Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "tests" / "support"))
import exercise_golden  # noqa: E402


def ready_count(arrived_us, max_batch, max_wait_us, now_us):
    """How many requests the batcher takes now: 0 while the batch is neither full nor overdue."""
    if not arrived_us:
        return 0
    if len(arrived_us) < max_batch and now_us < arrived_us[0] + max_wait_us:
        return 0
    return min(len(arrived_us), max_batch)


# name: (arrival times, max_batch, max_wait, now)
SCENARIOS = {
    "still_waiting": ([0, 300, 700], 4, 2000, 1500),    # 3 of 4, the oldest waited 1.5 of 2 ms
    "full": ([0, 100, 200, 300, 400, 500], 4, 2000, 600),  # 6 waiting: the oldest 4 go
    "exactly_full": ([0, 100, 200, 300], 4, 2000, 350),
    "at_the_deadline": ([0, 300, 700], 4, 2000, 2000),  # the oldest waited exactly max_wait
    "overdue_and_many": ([100 * i for i in range(10)], 4, 2000, 5000),  # still at most 4
    "batching_off": ([0, 10, 20], 1, 0, 20),            # max_batch 1, max_wait 0: one at once
}


def cases():
    batching = {"inputs": {}, "outputs": {}}
    for name, (arrived, max_batch, max_wait, now) in SCENARIOS.items():
        batching["inputs"][name] = {"arrived_us": torch.tensor(arrived, dtype=torch.int64),
                                    "max_batch": max_batch, "max_wait_us": max_wait,
                                    "now_us": now}
        batching["outputs"][name] = {"taken": ready_count(arrived, max_batch, max_wait, now)}

    images = torch.sin(torch.arange(5 * 16, dtype=torch.float32) * 0.53).reshape(5, 1, 4, 4)
    weight = 2 * torch.cos(torch.arange(16 * 10, dtype=torch.float32) * 0.29).reshape(16, 10)
    logits = torch.stack(list(images)).flatten(1) @ weight  # the stand-in model, (5, 10)
    probabilities = logits.softmax(1)
    return {
        "take_batch": batching,
        "answer_batch": {"inputs": {"images": images, "weight": weight},
                         "outputs": {"probabilities": probabilities,
                                     "labels": probabilities.argmax(1),
                                     "probability": probabilities.max(1).values}},
    }


if __name__ == "__main__":
    exercise_golden.write("18_serving", cases())
