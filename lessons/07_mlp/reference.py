#!/usr/bin/env python3
"""07_mlp in Python PyTorch: the same MLP, optimizers, cosine schedule, validation split and
atomic checkpoints as main.cpp, with the same flags, the same printed lines and the same RESULT
line.

    python lessons/07_mlp/reference.py --threads 2          # train (15 epochs, AdamW)
    python lessons/07_mlp/reference.py --resume              # continue a stopped run
    python lessons/07_mlp/reference.py --golden              # write lessons/07_mlp/golden.json
"""
import math
import os
import pathlib
import sys

import torch
import torch.nn.functional as F
from torch import nn

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "common" / "python"))
sys.path.insert(0, str(ROOT / "tests" / "support"))
import course_common  # noqa: E402

LESSON = "07_mlp"
EPOCHS = 15
LOG_EVERY = 50
EVAL_BATCH = 1000
FORMAT = "course.07_mlp.checkpoint.v2"
COLUMNS = ["train_loss", "train_acc", "val_loss", "val_acc", "test_loss", "test_acc", "lr",
           "seconds", "compute_seconds"]


# ---- the model (mlp.h) ------------------------------------------------------------------------
class Mlp(nn.Module):
    """Linear -> ReLU -> Dropout for every hidden layer, then a Linear head (logits)."""

    def __init__(self, in_features, hidden, classes, dropout=0.2):
        super().__init__()
        widths = [in_features, *hidden, classes]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths, widths[1:]))
        self.dropout = dropout
        self.widths = widths

    def forward(self, x):
        x = x.flatten(1)                                  # (B, 784)
        for layer in self.layers[:-1]:
            x = F.relu(layer(x))                          # (B, hidden[i])
            x = F.dropout(x, p=self.dropout, training=self.training)
        return self.layers[-1](x)                         # (B, classes)

    def architecture(self):
        return "-".join(str(w) for w in self.widths)


# ---- data, optimizers, one step (main.cpp) ----------------------------------------------------
def split_train_val(n, val_size, seed):
    if val_size <= 0 or val_size >= n:
        raise SystemExit(f"error: --val-size {val_size} of {n} training images leaves nothing to "
                         f"train or to validate on; pick 1 to {n - 1}")
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    return order[val_size:], order[:val_size]


def make_optimizer(parameters, name, lr, momentum=0.9, weight_decay=0.01):
    if name == "sgd":
        return torch.optim.SGD(parameters, lr=lr, momentum=momentum)
    if name == "adam":
        return torch.optim.Adam(parameters, lr=lr)
    if name == "adamw":
        return torch.optim.AdamW(parameters, lr=lr, weight_decay=weight_decay)
    raise SystemExit(f"error: unknown optimizer '{name}'; use one of: sgd, adam, adamw")


def cosine_lr(base_lr, step, total_steps):
    if total_steps <= 0:
        return base_lr
    progress = min(max(step, 0), total_steps) / total_steps
    return base_lr * 0.5 * (1.0 + math.cos(math.pi * progress))


def set_lr(optimizer, lr):
    for group in optimizer.param_groups:
        group["lr"] = lr


def train_step(model, optimizer, x, y):
    optimizer.zero_grad()
    logits = model(x)
    loss = F.cross_entropy(logits, y)
    loss.backward()
    optimizer.step()
    return loss.detach(), logits.detach()


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def evaluate(model, x, y):
    model.eval()
    clock = course_common.Stopwatch()
    loss_sum = torch.zeros((), device=x.device)
    correct = torch.zeros((), dtype=torch.long, device=x.device)
    with torch.no_grad():
        for start in range(0, len(x), EVAL_BATCH):
            logits = model(x[start:start + EVAL_BATCH])
            labels = y[start:start + EVAL_BATCH]
            loss_sum += F.cross_entropy(logits, labels, reduction="sum")
            correct += (logits.argmax(1) == labels).sum()
    sync(x.device)
    compute = clock.seconds()
    model.train()
    return loss_sum.item() / len(x), correct.item() / len(x), compute


def train_epoch(model, optimizer, data, batch_size, base_lr, epoch, epochs):
    model.train()
    x_train, y_train = data["x_train"], data["y_train"]
    n = len(x_train)
    steps = (n + batch_size - 1) // batch_size
    order = torch.randperm(n).to(x_train.device)
    loss_sum = torch.zeros((), device=x_train.device)
    correct = torch.zeros((), dtype=torch.long, device=x_train.device)
    compute = 0.0
    for step in range(steps):
        set_lr(optimizer, cosine_lr(base_lr, (epoch - 1) * steps + step, epochs * steps))
        index = order[step * batch_size:(step + 1) * batch_size]
        x, y = x_train[index], y_train[index]
        clock = course_common.Stopwatch()
        loss, logits = train_step(model, optimizer, x, y)
        sync(x.device)
        compute += clock.seconds()
        loss_sum += loss * len(x)
        correct += (logits.argmax(1) == y).sum()
        if (step + 1) % LOG_EVERY == 0 or step + 1 == steps:
            value = loss_sum.item() / min(n, (step + 1) * batch_size)
            if not math.isfinite(value):
                raise SystemExit(f"error: loss became {value} at epoch {epoch}; lower --lr (now "
                                 f"{base_lr})")
    return loss_sum.item() / n, correct.item() / n, compute


# ---- checkpoints (main.cpp; the atomic write is course/checkpoint.h's) ------------------------
def save_checkpoint(path, model, optimizer, history, settings, device):
    """Atomic: write path.tmp in the same folder, flush it, then os.replace over path."""
    checkpoint = {
        "format": FORMAT, "architecture": model.architecture(), "settings": settings,
        "history": torch.tensor(history, dtype=torch.float64),
        "rng_cpu": torch.get_rng_state(),
        "model": model.state_dict(), "optimizer": optimizer.state_dict(),
    }
    if device.type == "cuda":
        checkpoint["rng_device"] = torch.cuda.get_rng_state(device)
    temporary = path.with_name(path.name + ".tmp")
    try:
        with open(temporary, "wb") as f:
            torch.save(checkpoint, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    except Exception as error:
        temporary.unlink(missing_ok=True)
        raise SystemExit(f"error: could not write the checkpoint {path} ({error}); the previous "
                         "checkpoint there, if any, is unchanged")


def load_checkpoint(path, model, optimizer, settings, device):
    if not path.exists():
        raise SystemExit(f"error: no checkpoint at {path}: nothing to resume. Run once without "
                         "--resume (same --out) first.")
    try:
        checkpoint = torch.load(path, map_location=device, weights_only=True)
    except Exception as error:
        raise SystemExit(f"error: {path} is not a readable checkpoint: it is truncated or damaged "
                         f"({error}). Delete it and start again without --resume.")
    if not isinstance(checkpoint, dict):
        checkpoint = {}
    for key, expected, fix in [
            ("format", FORMAT, "point --out at this lesson's output folder"),
            ("architecture", model.architecture(), "resume with the --hidden of that run"),
            ("settings", settings, "resume with the flags of that run")]:
        saved = checkpoint.get(key, "(none)")
        if saved != expected:
            raise SystemExit(f'error: {path} has {key} "{saved}", this run needs "{expected}": '
                             f"{fix}, or start again without --resume.")
    model.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    torch.set_rng_state(checkpoint["rng_cpu"].cpu())
    if device.type == "cuda" and "rng_device" in checkpoint:
        torch.cuda.set_rng_state(checkpoint["rng_device"].cpu(), device)
    return checkpoint["history"].tolist()


# ---- main -------------------------------------------------------------------------------------
def train(args):
    # a new run folder <out>/run_N, or with --resume the latest one that holds a checkpoint
    device, out = course_common.begin(args, LESSON, "checkpoint.pt", args.resume)

    # 1. data
    images, labels = course_common.load_fashion(args, train=True)
    test_images, test_labels = course_common.load_fashion(args, train=False)
    n = len(images)
    train_index, val_index = split_train_val(
        n, min(args.val_size, n // 8) if args.smoke else args.val_size, args.seed)
    x = course_common.normalize_fashion(images)           # (N, 1, 28, 28)
    data = {"x_train": x[train_index].to(device), "y_train": labels[train_index].to(device),
            "x_val": x[val_index].to(device), "y_val": labels[val_index].to(device),
            "x_test": course_common.normalize_fashion(test_images).to(device),
            "y_test": test_labels.to(device)}
    n_train = len(data["x_train"])
    print(f"data: {n_train} train, {len(val_index)} validation, {len(test_labels)} test images")

    # 2. model and optimizer
    hidden = [int(w) for w in args.hidden.split(",")]
    model = Mlp(784, hidden, 10, args.dropout).to(device)
    base_lr = args.lr if args.lr > 0 else (0.05 if args.optimizer == "sgd" else 1e-3)
    optimizer = make_optimizer(model.parameters(), args.optimizer, base_lr)
    print(f"model: MLP {model.architecture()} ({sum(q.numel() for q in model.parameters())} "
          f"parameters), optimizer {args.optimizer} lr {base_lr:g}")

    # 3. resume or start fresh
    history = course_common.History(out, COLUMNS)
    checkpoint_path = out / "checkpoint.pt"
    settings = (f"optimizer={args.optimizer} lr={base_lr:g} epochs={args.epochs} "
                f"batch_size={args.batch_size} dropout={args.dropout:g} train={n_train} "
                f"seed={args.seed}")
    if args.resume:
        for row in load_checkpoint(checkpoint_path, model, optimizer, settings, device):
            history.add(int(row[0]), row[1:])  # metrics.csv gets exactly the checkpoint's rows
        print(f"resumed from {checkpoint_path} after epoch {len(history.rows)}")

    # 4. train
    steps = (n_train + args.batch_size - 1) // args.batch_size
    for epoch in range(len(history.rows) + 1, args.epochs + 1):
        clock = course_common.Stopwatch()
        lr = cosine_lr(base_lr, (epoch - 1) * steps, args.epochs * steps)
        train_loss, train_acc, train_compute = train_epoch(
            model, optimizer, data, args.batch_size, base_lr, epoch, args.epochs)
        val_loss, val_acc, val_compute = evaluate(model, data["x_val"], data["y_val"])
        test_loss, test_acc, test_compute = evaluate(model, data["x_test"], data["y_test"])
        best = all(val_acc > earlier for earlier in history.column("val_acc"))
        seconds = clock.seconds()
        print(f"epoch {epoch:2}/{args.epochs} lr {lr:.2e} | train loss {train_loss:.4f} acc "
              f"{train_acc:.4f} | val loss {val_loss:.4f} acc {val_acc:.4f}{' *' if best else '  '}"
              f" | test acc {test_acc:.4f} | {seconds:.1f}s", flush=True)
        history.add(epoch, [train_loss, train_acc, val_loss, val_acc, test_loss, test_acc, lr,
                            seconds, train_compute + val_compute + test_compute])
        save_checkpoint(checkpoint_path, model, optimizer, history.rows, settings, device)

    # 5. report
    val_accs = history.column("val_acc")
    best = val_accs.index(max(val_accs))
    print(f"best validation accuracy {val_accs[best]:.4f} at epoch {best + 1}, "
          f"final test accuracy {history.last('test_acc'):.4f}")
    history.print_result(LESSON, n_train)


# ---- goldens: inputs made without a random stream ---------------------------------------------
def fixed_weights(model):
    """Deterministic weights: sin/cos of the element index, scaled by 1/sqrt(fan_in)."""
    with torch.no_grad():
        for i, layer in enumerate(model.layers):
            fan_in = layer.weight.shape[1]
            k = torch.arange(layer.weight.numel(), dtype=torch.float32)
            layer.weight.copy_((torch.sin(k * 0.37 + i) / math.sqrt(fan_in)).view_as(layer.weight))
            b = torch.arange(layer.bias.numel(), dtype=torch.float32)
            layer.bias.copy_(torch.cos(b * 0.91 + i) * 0.1)
    return {name: value.detach().clone() for name, value in model.state_dict().items()}


def write_golden():
    import golden

    torch.set_num_threads(1)
    cases = {}

    # A small MLP (16 -> 10 -> 8 -> 5) with fixed weights, on a fixed batch.
    small = {"in_features": 16, "hidden": [10, 8], "classes": 5}
    model = Mlp(16, [10, 8], 5, dropout=0.2)
    weights = fixed_weights(model)
    x = torch.sin(torch.linspace(-3, 3, 6 * 16)).view(6, 16) * 2.0   # (6, 16)
    y = torch.tensor([0, 1, 2, 3, 4, 1])
    named_weights = {f"weights.{k}": v for k, v in weights.items()}

    # Forward in eval mode: dropout does nothing.
    model.eval()
    with torch.no_grad():
        logits = model(x)
    cases["forward"] = {"inputs": {"x": x, **small, **named_weights},
                        "outputs": {"logits": logits}}

    # evaluate() of the same weights with dropout 0.5: eval mode inside, so no unit is dropped.
    model = Mlp(16, [10, 8], 5, dropout=0.5)
    model.load_state_dict(weights)
    model.train()
    loss, accuracy, _ = evaluate(model, x, y)
    cases["evaluate"] = {"inputs": {"x": x, "y": y, "dropout": 0.5, **named_weights},
                         "outputs": {"loss": loss, "accuracy": accuracy}}

    # Two training steps with each optimizer, dropout 0, from the same weights and with the same
    # settings: each optimizer takes only what it uses (momentum: sgd; weight decay: adamw), so
    # adam and adamw differ here, and a mix-up of the two shows.
    settings = {"sgd": 0.1, "adam": 0.01, "adamw": 0.01}
    momentum, weight_decay = 0.9, 0.1
    for name, lr in settings.items():
        model = Mlp(16, [10, 8], 5, dropout=0.0)
        model.load_state_dict(weights)
        optimizer = make_optimizer(model.parameters(), name, lr, momentum, weight_decay)
        losses = []
        for _ in range(2):
            loss, _ = train_step(model, optimizer, x, y)
            losses.append(loss.item())
        cases[f"step_{name}"] = {
            "inputs": {"x": x, "y": y, "lr": lr, "momentum": momentum,
                       "weight_decay": weight_decay, **named_weights},
            "outputs": {"loss_1": losses[0], "loss_2": losses[1],
                        **{f"weights.{k}": v for k, v in model.state_dict().items()}}}

    # The validation split: a permutation from its own generator, seeded with the seed alone.
    train_index, val_index = split_train_val(100, 20, seed=7)
    cases["split"] = {"inputs": {"n": 100, "val_size": 20, "seed": 7},
                      "outputs": {"train": train_index, "validation": val_index}}

    # The hand-written cosine schedule against PyTorch's CosineAnnealingLR.
    parameter = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([parameter], lr=0.1)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=10)
    lrs = []
    for _ in range(11):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    cases["schedule"] = {"inputs": {"base_lr": 0.1, "total_steps": 10},
                         "outputs": {"lr": torch.tensor(lrs, dtype=torch.float64)}}
    golden.write(LESSON, cases)


def main():
    p = course_common.parser("07_mlp in Python: an MLP, optimizers, schedule, checkpoints", EPOCHS)
    p.add_argument("--optimizer", default="adamw", choices=["sgd", "adam", "adamw"])
    p.add_argument("--lr", type=float, default=0.0,
                   help="peak learning rate (0: 0.05 for sgd, 1e-3 for adam and adamw)")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--val-size", type=int, default=5000)
    p.add_argument("--hidden", default="512,256")
    p.add_argument("--dropout", type=float, default=0.2)
    p.add_argument("--resume", action="store_true")
    args = p.parse_args()
    if not 0.0 <= args.lr <= 10.0 or not 1 <= args.batch_size <= 60000 or \
            not 1 <= args.val_size <= 59999 or not 0.0 <= args.dropout <= 0.99:
        p.error("--lr must be in [0, 10], --batch-size in [1, 60000], --val-size in [1, 59999], "
                "--dropout in [0, 0.99]")
    if args.golden:
        write_golden()
        return
    train(args)


if __name__ == "__main__":
    main()
