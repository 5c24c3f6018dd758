#!/usr/bin/env python3
"""07_mlp in Python PyTorch: the same MLP, optimizers, cosine schedule, validation split and
atomic checkpoints as main.cpp, with the same flags and the same RESULT line.

    python lessons/07_mlp/reference.py --threads 2          # train (15 epochs, AdamW)
    python lessons/07_mlp/reference.py --resume              # continue a stopped run
    python lessons/07_mlp/reference.py --golden              # write tests/golden/07_mlp.json
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
SMOKE_LIMIT = 512
LOG_EVERY = 50
PIXEL_MEAN, PIXEL_STD = 0.2860, 0.3530
FORMAT = "course.07_mlp.checkpoint.v1"
COLUMNS = ["epoch", "train_loss", "train_acc", "test_loss", "test_acc", "seconds",
           "val_loss", "val_acc", "lr", "compute_seconds"]


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


def default_lr(name):
    return 0.05 if name == "sgd" else 1e-3


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


def normalize_images(images):
    """uint8 (N, 28, 28) -> float (N, 784)."""
    return ((images.float() / 255.0 - PIXEL_MEAN) / PIXEL_STD).flatten(1)


def split_train_val(n, val_size, seed):
    if val_size <= 0 or val_size >= n:
        raise SystemExit(f"error: a validation split of {val_size} out of {n} samples leaves "
                         f"nothing to train or to validate on; pick --val-size between 1 and {n - 1}")
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    return order[val_size:], order[:val_size]


def train_step(model, optimizer, x, y):
    optimizer.zero_grad()
    logits = model(x)
    loss = F.cross_entropy(logits, y)
    loss.backward()
    optimizer.step()
    return loss.detach(), logits.detach()


# ---- checkpoints (checkpoint.h) ---------------------------------------------------------------
def save_checkpoint(path, model, optimizer, state, device):
    """Atomic: write path.tmp in the same folder, flush it, then os.replace over path."""
    checkpoint = {
        "format": FORMAT, "architecture": model.architecture(), "settings": state["settings"],
        "epochs_done": state["epochs_done"], "best_val_acc": state["best_val_acc"],
        "best_epoch": state["best_epoch"], "history": state["history"],
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
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != FORMAT:
        raise SystemExit(f"error: {path} is not a 07_mlp checkpoint.")
    if checkpoint["architecture"] != model.architecture():
        raise SystemExit(f"error: {path} holds an MLP {checkpoint['architecture']}, but this run "
                         f"builds an MLP {model.architecture()}. Resume with the --hidden of that "
                         "run, or start again without --resume.")
    if checkpoint["settings"] != settings:
        raise SystemExit(f"error: {path} was made by a run with \"{checkpoint['settings']}\", this "
                         f"run has \"{settings}\". Resume with the flags of that run.")
    model.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    torch.set_rng_state(checkpoint["rng_cpu"].cpu())
    if device.type == "cuda" and "rng_device" in checkpoint:
        torch.cuda.set_rng_state(checkpoint["rng_device"].cpu(), device)
    return {key: checkpoint[key] for key in
            ("settings", "epochs_done", "best_val_acc", "best_epoch", "history")}


# ---- train and evaluate (main.cpp) ------------------------------------------------------------
def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


@torch.no_grad()
def evaluate(model, x, y):
    model.eval()
    clock = course_common.Stopwatch()
    loss_sum = torch.zeros((), device=x.device)
    correct = torch.zeros((), dtype=torch.long, device=x.device)
    for start in range(0, len(x), 1000):
        logits = model(x[start:start + 1000])
        labels = y[start:start + 1000]
        loss_sum += F.cross_entropy(logits, labels, reduction="sum")
        correct += (logits.argmax(1) == labels).sum()
    sync(x.device)
    model.train()
    return loss_sum.item() / len(x), correct.item() / len(x), clock.seconds()


def train_epoch(model, optimizer, data, batch_size, base_lr, epoch, epochs):
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
                raise SystemExit(f"error: loss became NaN at epoch {epoch}; lower --lr (now "
                                 f"{base_lr})")
    return loss_sum.item() / n, correct.item() / n, compute


def main():
    p = course_common.parser("07_mlp in Python: an MLP, optimizers, schedule, checkpoints", EPOCHS)
    p.add_argument("--optimizer", default="adamw", choices=["sgd", "adam", "adamw"])
    p.add_argument("--lr", type=float, default=0.0)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--val-size", type=int, default=5000)
    p.add_argument("--hidden", default="512,256")
    p.add_argument("--dropout", type=float, default=0.2)
    p.add_argument("--resume", action="store_true")
    args = p.parse_args()
    if args.golden:
        write_golden()
        return
    device, out = course_common.begin(args, LESSON)

    # 1. data
    directory = course_common.find_dataset("fashion-mnist", args.data_dir,
                                           course_common.FASHION_FILES)
    limit = SMOKE_LIMIT if args.smoke else 0
    images, labels = course_common.load_fashion_mnist(directory, True, limit)
    test_images, test_labels = course_common.load_fashion_mnist(directory, False, limit)
    n = len(images)
    train_index, val_index = split_train_val(
        n, min(args.val_size, n // 8) if args.smoke else args.val_size, args.seed)
    x = normalize_images(images)
    data = {"x_train": x[train_index].to(device), "y_train": labels[train_index].to(device),
            "x_val": x[val_index].to(device), "y_val": labels[val_index].to(device),
            "x_test": normalize_images(test_images).to(device), "y_test": test_labels.to(device)}
    n_train = len(data["x_train"])
    print(f"data: {n_train} train, {len(val_index)} validation, {len(test_labels)} test images")

    # 2. model and optimizer
    hidden = [int(w) for w in args.hidden.split(",")]
    model = Mlp(784, hidden, 10, args.dropout).to(device)
    base_lr = args.lr if args.lr > 0 else default_lr(args.optimizer)
    optimizer = make_optimizer(model.parameters(), args.optimizer, base_lr)
    print(f"model: MLP {model.architecture()} ({sum(q.numel() for q in model.parameters())} "
          f"parameters), optimizer {args.optimizer} lr {base_lr:g}")

    # 3. resume or start fresh
    checkpoint_path = out / "checkpoint.pt"
    settings = (f"optimizer={args.optimizer} lr={base_lr:g} epochs={args.epochs} "
                f"batch_size={args.batch_size} dropout={args.dropout:g} train={n_train} "
                f"seed={args.seed}")
    state = {"settings": settings, "epochs_done": 0, "best_val_acc": 0.0, "best_epoch": 0,
             "history": []}
    if args.resume:
        state = load_checkpoint(checkpoint_path, model, optimizer, settings, device)
        print(f"resumed from {checkpoint_path} after epoch {state['epochs_done']}")
    metrics = open(out / "metrics.csv", "w")
    metrics.write(",".join(COLUMNS) + "\n")
    for row in state["history"]:
        metrics.write(",".join(f"{v:g}" for v in row) + "\n")

    # 4. train
    steps = (n_train + args.batch_size - 1) // args.batch_size
    for epoch in range(state["epochs_done"] + 1, args.epochs + 1):
        epoch_clock = course_common.Stopwatch()
        lr = cosine_lr(base_lr, (epoch - 1) * steps, args.epochs * steps)
        train_loss, train_acc, train_compute = train_epoch(
            model, optimizer, data, args.batch_size, base_lr, epoch, args.epochs)
        val_loss, val_acc, val_compute = evaluate(model, data["x_val"], data["y_val"])
        test_loss, test_acc, test_compute = evaluate(model, data["x_test"], data["y_test"])
        best = val_acc > state["best_val_acc"]
        if best:
            state["best_val_acc"], state["best_epoch"] = val_acc, epoch
        seconds = epoch_clock.seconds()
        print(f"epoch {epoch:2}/{args.epochs} lr {lr:.2e} | train loss {train_loss:.4f} acc "
              f"{train_acc:.4f} | val loss {val_loss:.4f} acc {val_acc:.4f}{' *' if best else '  '}"
              f" | test acc {test_acc:.4f} | {seconds:.1f}s", flush=True)
        row = [epoch, train_loss, train_acc, test_loss, test_acc, seconds, val_loss, val_acc, lr,
               train_compute + val_compute + test_compute]
        state["history"].append(row)
        state["epochs_done"] = epoch
        metrics.write(",".join(f"{v:g}" for v in row) + "\n")
        metrics.flush()
        save_checkpoint(checkpoint_path, model, optimizer, state, device)

    # 5. report
    history = state["history"]
    seconds = sum(row[5] for row in history)
    compute = sum(row[9] for row in history)
    print(f"best validation accuracy {state['best_val_acc']:.4f} at epoch {state['best_epoch']}, "
          f"final test accuracy {history[-1][4]:.4f}")
    course_common.result_line(lesson=LESSON, epochs=len(history),
                              epoch_time_s=seconds / len(history),
                              train_samples_per_s=n_train * len(history) / seconds,
                              test_acc=history[-1][4], outside_share=1.0 - compute / seconds)


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

    # Normalisation of uint8 images.
    images = ((torch.arange(2 * 28 * 28) * 7) % 256).to(torch.uint8).view(2, 28, 28)
    cases["normalize"] = {"inputs": {"images": images},
                          "outputs": {"x": normalize_images(images)}}

    # A small MLP (16 -> 10 -> 8 -> 5): forward in eval mode.
    small = {"in_features": 16, "hidden": [10, 8], "classes": 5}
    model = Mlp(16, [10, 8], 5, dropout=0.2)
    weights = fixed_weights(model)
    x = torch.sin(torch.linspace(-3, 3, 6 * 16)).view(6, 16) * 2.0   # (6, 16)
    y = torch.tensor([0, 1, 2, 3, 4, 1])
    model.eval()
    with torch.no_grad():
        logits = model(x)
    cases["forward"] = {"inputs": {"x": x, **{f"weights.{k}": v for k, v in weights.items()}},
                        "outputs": {"logits": logits}}

    # Two training steps with each optimizer, dropout 0, from the same weights.
    settings = {"sgd": {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.0},
                "adam": {"lr": 0.01, "momentum": 0.0, "weight_decay": 0.0},
                "adamw": {"lr": 0.01, "momentum": 0.0, "weight_decay": 0.1}}
    for name, s in settings.items():
        model = Mlp(16, [10, 8], 5, dropout=0.0)
        model.load_state_dict(weights)
        optimizer = make_optimizer(model.parameters(), name, s["lr"], s["momentum"],
                                   s["weight_decay"])
        losses = []
        for _ in range(2):
            loss, _ = train_step(model, optimizer, x, y)
            losses.append(loss.item())
        cases[f"step_{name}"] = {
            "inputs": {"x": x, "y": y, **s, **{f"weights.{k}": v for k, v in weights.items()}},
            "outputs": {"loss_1": losses[0], "loss_2": losses[1],
                        **{f"weights.{k}": v for k, v in model.state_dict().items()}}}

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
    cases["forward"]["inputs"].update(small)
    golden.write(LESSON, cases)


if __name__ == "__main__":
    main()
