#!/usr/bin/env python3
"""20_distributed in Python PyTorch: lesson 08's CNN trained by several processes, the way Python
does it: torch.distributed with the gloo backend (nccl on CUDA), DistributedSampler for the shards
and DistributedDataParallel for the broadcast and the bucketed gradient all-reduce, which main.cpp
writes by hand. Same flags and the same printed lines as main.cpp.

    torchrun --standalone --nproc-per-node=2 lessons/20_distributed/reference.py --threads 1
    python lessons/20_distributed/reference.py --nproc 2 --threads 1   # spawns its own ranks
    python lessons/20_distributed/reference.py --smoke --nproc 2       # 512 images, seconds
    python lessons/20_distributed/reference.py --golden                # writes golden.json
"""
import datetime
import math
import os
import pathlib
import sys
import tempfile

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DistributedSampler

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "common" / "python"))
sys.path.insert(0, str(ROOT / "tests" / "support"))
sys.path.insert(0, str(ROOT / "lessons" / "08_cnn"))
import course_common  # noqa: E402
from reference import Cnn, cosine_lr, fixed_images, fixed_state, set_lr  # noqa: E402  (08's)

LESSON = "20_distributed"
EPOCHS = 5
EVAL_BATCH = 1000


def shard(n, epoch, seed, rank, size):
    """main.cpp's shard(): the indices DistributedSampler gives this rank in this epoch."""
    sampler = DistributedSampler(range(n), num_replicas=size, rank=rank, shuffle=True, seed=seed,
                                 drop_last=True)
    sampler.set_epoch(epoch)
    return torch.tensor(list(sampler), dtype=torch.int64)


def average_buffers(model, size):
    """main.cpp's average_buffers(): batch norm statistics, the mean over the ranks."""
    for buffer in model.buffers():
        if buffer.is_floating_point():
            dist.all_reduce(buffer)
            buffer.div_(size)


def evaluate(model, x, y):
    model.eval()
    loss_sum, correct = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(x), EVAL_BATCH):
            logits = model(x[start:start + EVAL_BATCH])
            labels = y[start:start + EVAL_BATCH]
            loss_sum += F.cross_entropy(logits, labels, reduction="sum").item()
            correct += (logits.argmax(1) == labels).sum().item()
    model.train()
    return loss_sum / len(x), correct / len(x)


def train(args):
    rank, size = int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))
    device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0))) \
        if args.device.startswith("cuda") else torch.device("cpu")
    timeout = datetime.timedelta(seconds=args.timeout)
    init = f"file://{args.store_file}" if args.store_file else "env://"
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo", init_method=init,
                            rank=rank, world_size=size, timeout=timeout)
    lead = rank == 0
    if lead:
        _, out = course_common.begin(args, LESSON)
    else:
        if args.threads > 0:
            torch.set_num_threads(args.threads)
        torch.manual_seed(args.seed)
    if lead:
        print(f"world: {size} ranks, {dist.get_backend()}", flush=True)

    train_set = course_common.load_fashion(args, train=True)
    test_set = course_common.load_fashion(args, train=False)
    x_train = course_common.normalize_fashion(train_set[0]).to(device)
    y_train = train_set[1].to(device)
    x_test = course_common.normalize_fashion(test_set[0]).to(device)
    y_test = test_set[1].to(device)
    n = len(x_train)
    if lead:
        print(f"data: {n} train images, {n // size} per rank, {len(x_test)} test images")

    model = Cnn().to(device)
    # DDP broadcasts rank 0's weights and buffers, and all-reduces the gradients in buckets during
    # backward(); main.cpp does the same after backward(). Buffers: averaged before evaluating.
    model = DistributedDataParallel(model, bucket_cap_mb=args.bucket_mb, broadcast_buffers=False)
    torch.manual_seed(args.seed + rank)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    if lead:
        count = sum(p.numel() for p in model.parameters())
        print(f"model: CNN ({count} parameters), DDP buckets of up to {args.bucket_mb:g} MiB")
        print(f"training: Adam lr {args.lr:g} (cosine to 0), batch {args.batch_size} per rank, "
              f"{args.batch_size * size} in all", flush=True)

    history = course_common.History(out, ["train_loss", "train_acc", "test_loss", "test_acc",
                                          "seconds", "compute_seconds"]) if lead else None
    for epoch in range(1, args.epochs + 1):
        clock = course_common.Stopwatch()
        model.train()
        mine = shard(n, epoch, args.seed, rank, size).to(device)
        steps = (len(mine) + args.batch_size - 1) // args.batch_size
        totals = torch.zeros(3, dtype=torch.float64, device=device)
        for step in range(steps):
            set_lr(optimizer, cosine_lr(args.lr, (epoch - 1) * steps + step, args.epochs * steps))
            index = mine[step * args.batch_size:(step + 1) * args.batch_size]
            x, y = x_train[index], y_train[index]
            optimizer.zero_grad()
            logits = model(x)
            loss = F.cross_entropy(logits, y)
            loss.backward()  # DDP: the gradients arrive averaged over the ranks
            optimizer.step()
            totals += torch.stack([loss.detach().double() * len(x),
                                   (logits.argmax(1) == y).sum().double(),
                                   torch.tensor(float(len(x)), device=device)])
        dist.all_reduce(totals)
        train_loss, train_acc = (totals[0] / totals[2]).item(), (totals[1] / totals[2]).item()
        if not math.isfinite(train_loss):
            raise SystemExit(f"error: loss became {train_loss} at epoch {epoch}; lower --lr")
        train_seconds = clock.seconds()
        average_buffers(model.module, size)
        if not lead:
            continue
        test_loss, test_acc = evaluate(model.module, x_test, y_test)
        seconds = clock.seconds()
        print(f"epoch {epoch:2}/{args.epochs} | train loss {train_loss:.4f} acc {train_acc:.4f} | "
              f"test loss {test_loss:.4f} acc {test_acc:.4f} | {seconds:.1f}s", flush=True)
        history.add(epoch, [train_loss, train_acc, test_loss, test_acc, seconds, train_seconds])
        torch.save(model.module.state_dict(), out / "checkpoint.pt")
    if lead:
        print(f"wrote metrics.csv and checkpoint.pt in {out}")
        history.print_result(LESSON, n)
    dist.destroy_process_group()


def spawned(rank, args, size, store_file):
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(size))
    args.store_file = store_file
    train(args)


# ---- goldens (test.cpp) -------------------------------------------------------------------------
def write_golden():
    cases = {}
    # The shards DistributedSampler(drop_last=True) gives: 11 images over 2 ranks and 3 ranks.
    for n, size in [(11, 2), (10, 3)]:
        cases[f"shard_{n}_{size}"] = {
            "inputs": {"n": n, "size": size, "epoch": 3, "seed": 42},
            "outputs": {f"rank{r}": shard(n, 3, 42, r, size) for r in range(size)}}

    # One process, batch 2B = 8: three Adam steps of a small Cnn with batch norm in eval mode
    # (its running statistics, so each image's loss does not depend on the others in its batch)
    # and dropout 0. Two ranks with batch B = 4, each on every second image of the same 8, must
    # end with these weights: the mean of their mean gradients is the gradient of the mean.
    model = Cnn(channels1=4, channels2=4, hidden=8, dropout=0.0)
    state = fixed_state(model)
    model.eval()
    images = fixed_images(24)
    labels = torch.arange(24) % 10
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    for step in range(3):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(images[8 * step:8 * step + 8]), labels[8 * step:8 * step + 8])
        loss.backward()
        optimizer.step()
    cases["equivalence"] = {
        "inputs": {"channels1": 4, "channels2": 4, "hidden": 8, "lr": 0.01, "steps": 3,
                   "global_batch": 8, "images": images, "labels": labels,
                   "state": state},
        "outputs": {"state": {k: v.clone() for k, v in model.state_dict().items()}}}
    import golden  # tests/support/golden.py
    golden.write(LESSON, cases)


def main():
    p = course_common.parser("Lesson 08's CNN trained by several processes (torch.distributed)",
                             epochs=EPOCHS)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--bucket-mb", type=float, default=0.5)
    p.add_argument("--timeout", type=int, default=300)
    p.add_argument("--nproc", type=int, default=0)
    p.add_argument("--store-file", default="")
    args = p.parse_args()
    if args.golden:
        write_golden()
    elif args.nproc > 0:
        with tempfile.TemporaryDirectory() as folder:
            torch.multiprocessing.spawn(spawned, args=(args, args.nproc, f"{folder}/store"),
                                        nprocs=args.nproc)
    else:
        train(args)


if __name__ == "__main__":
    main()
