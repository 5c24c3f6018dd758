"""Writes lessons/20_distributed/exercises/golden.json: what the solutions must give.

    python lessons/20_distributed/exercises/golden.py

Inputs are made without a random stream (sin, cos of arange; the shuffled orders come from a
seeded generator, as DistributedSampler makes them), so a rerun leaves no diff. No process group
is started: DistributedSampler takes num_replicas and rank as arguments.
"""
import pathlib
import sys

import torch
from torch.utils.data import DistributedSampler

ROOT = pathlib.Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "tests" / "support"))
import exercise_golden  # noqa: E402

SEED = 7


# name: (N, W, epoch, drop_last)
SHARDS = {"n10_w3_drop": (10, 3, 1, True), "n10_w3_pad": (10, 3, 1, False),
          "n12_w4_pad": (12, 4, 2, False), "n2_w4_pad": (2, 4, 0, False)}


def shard_case(n, world, epoch, drop_last):
    generator = torch.Generator()
    generator.manual_seed(SEED + epoch)  # what DistributedSampler.__iter__ does
    order = torch.randperm(n, generator=generator)
    shards = {}
    for rank in range(world):
        sampler = DistributedSampler(range(n), num_replicas=world, rank=rank, shuffle=True,
                                     seed=SEED, drop_last=drop_last)
        sampler.set_epoch(epoch)
        shards[f"rank{rank}"] = torch.tensor(list(sampler), dtype=torch.int64)
    return {"inputs": {"order": order, "world_size": world, "drop_last": int(drop_last)},
            "outputs": shards}


def bucket_of_each(nbytes, cap):
    """Lesson 20's make_buckets: the bucket index of each parameter."""
    index, filled, result = 0, 0, []
    for size in nbytes:
        if filled > 0 and filled + size > cap:
            index, filled = index + 1, 0
        result.append(index)
        filled += size
    return torch.tensor(result, dtype=torch.int64)


def bucket_case():
    shapes = [(4, 3), (3,), (2, 2, 2), (5,)]  # 48, 12, 32, 20 bytes of float32
    grads = {}
    for rank in range(3):
        grads[f"rank{rank}"] = {}
        for p, shape in enumerate(shapes):
            n = torch.Size(shape).numel()
            values = torch.sin(torch.arange(n, dtype=torch.float32) * (0.7 + 0.1 * p) + rank)
            grads[f"rank{rank}"][f"grad{p}"] = (values * (rank + 1)).reshape(shape)
    means = {f"grad{p}": torch.stack([grads[f"rank{r}"][f"grad{p}"] for r in range(3)]).mean(0)
             for p in range(len(shapes))}
    nbytes = [torch.Size(s).numel() * 4 for s in shapes]
    caps = {"cap64": 64, "cap16": 16, "cap1mb": 1 << 20}
    return {"inputs": {**grads, **caps},
            "outputs": {**means, **{name: bucket_of_each(nbytes, cap)
                                    for name, cap in caps.items()}}}


if __name__ == "__main__":
    cases = {name: shard_case(*spec) for name, spec in SHARDS.items()}
    cases["buckets"] = bucket_case()
    exercise_golden.write("20_distributed", cases)
