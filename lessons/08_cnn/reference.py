#!/usr/bin/env python3
"""08_cnn in Python PyTorch: the same CNN, data, augmentation, Adam with a cosine schedule and
the same flags as main.cpp; it prints the same per-epoch lines, the confusion matrix and the
RESULT line.

    python lessons/08_cnn/reference.py --threads 2     # train (10 epochs)
    python lessons/08_cnn/reference.py --smoke         # 512 images, seconds
    python lessons/08_cnn/reference.py --golden        # write lessons/08_cnn/golden.json
"""
import math
import pathlib
import sys

import torch
import torch.nn.functional as F
from torch import nn

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "common" / "python"))
sys.path.insert(0, str(ROOT / "tests" / "support"))
import course_common  # noqa: E402

LESSON = "08_cnn"
EPOCHS = 10
LOG_EVERY = 50
EVAL_BATCH = 1000


# ---- the model (cnn.h) ------------------------------------------------------------------------
class Cnn(nn.Module):
    """(B, 1, 28, 28) -> two conv/batch-norm/ReLU/max-pool blocks -> linear -> dropout -> linear."""

    def __init__(self, channels1=32, channels2=64, hidden=128, classes=10, dropout=0.3):
        super().__init__()
        self.conv1 = nn.Conv2d(1, channels1, kernel_size=3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels1)
        self.conv2 = nn.Conv2d(channels1, channels2, kernel_size=3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels2)
        self.fc = nn.Linear(channels2 * 7 * 7, hidden)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden, classes)

    def forward(self, images):
        x = F.relu(self.bn1(self.conv1(images)))    # (B, C1, 28, 28)
        x = F.max_pool2d(x, kernel_size=2)           # (B, C1, 14, 14)
        x = F.relu(self.bn2(self.conv2(x)))         # (B, C2, 14, 14)
        x = F.max_pool2d(x, kernel_size=2)           # (B, C2, 7, 7)
        x = x.flatten(1)                             # (B, C2 * 49)
        x = self.dropout(F.relu(self.fc(x)))         # (B, hidden)
        return self.head(x)                          # (B, classes)


def random_flip(images):
    flip = torch.rand(images.shape[0], 1, 1, 1, device=images.device) < 0.5
    return torch.where(flip, images.flip(3), images)


def train_step(model, optimizer, images, labels):
    optimizer.zero_grad()
    logits = model(images)
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    optimizer.step()
    return loss.detach(), logits.detach()


def cosine_lr(base_lr, step, total_steps):
    if total_steps <= 0:
        return base_lr
    progress = min(max(step, 0), total_steps) / total_steps
    return base_lr * 0.5 * (1.0 + math.cos(math.pi * progress))


def set_lr(optimizer, lr):
    for group in optimizer.param_groups:
        group["lr"] = lr


def confusion_matrix(predicted, labels, classes):
    """(classes, classes) int64: [true, predicted] counts."""
    matrix = torch.zeros(classes, classes, dtype=torch.int64)
    return matrix.index_put_((labels, predicted), torch.ones_like(labels), accumulate=True)


# ---- train and evaluate (main.cpp) ------------------------------------------------------------
def evaluate(model, x, y):
    model.eval()
    clock = course_common.Stopwatch()
    loss_sum, predicted = 0.0, []
    with torch.no_grad():
        for start in range(0, x.shape[0], EVAL_BATCH):
            logits = model(x[start:start + EVAL_BATCH])
            loss_sum += F.cross_entropy(logits, y[start:start + EVAL_BATCH], reduction="sum")
            predicted.append(logits.argmax(1))
    compute = clock.seconds()
    model.train()
    predicted = torch.cat(predicted).cpu()
    n = x.shape[0]
    return float(loss_sum) / n, (predicted == y.cpu()).sum().item() / n, compute, predicted


def train_epoch(model, optimizer, x_train, y_train, args, epoch):
    model.train()
    n = x_train.shape[0]
    steps = (n + args.batch_size - 1) // args.batch_size
    order = torch.randperm(n).to(x_train.device)
    loss_sum = torch.zeros((), device=x_train.device)
    correct = torch.zeros((), dtype=torch.int64, device=x_train.device)
    compute = 0.0
    for step in range(steps):
        set_lr(optimizer, cosine_lr(args.lr, (epoch - 1) * steps + step, args.epochs * steps))
        index = order[step * args.batch_size:(step + 1) * args.batch_size]
        x, y = x_train[index], y_train[index]
        if not args.no_flip:
            x = random_flip(x)
        clock = course_common.Stopwatch()
        loss, logits = train_step(model, optimizer, x, y)
        if x.is_cuda:
            torch.cuda.synchronize()
        compute += clock.seconds()
        loss_sum += loss * x.shape[0]
        correct += (logits.argmax(1) == y).sum()
        if (step + 1) % LOG_EVERY == 0 or step + 1 == steps:
            seen = min(n, (step + 1) * args.batch_size)
            if not math.isfinite(loss_sum.item() / seen):
                raise SystemExit(f"error: loss became NaN at epoch {epoch}; lower --lr "
                                 f"(now {args.lr}) or check the data")
    return loss_sum.item() / n, correct.item() / n, compute


def train(args):
    device, out = course_common.begin(args, LESSON)
    train_images, y_train = course_common.load_fashion(args, train=True)
    test_images, y_test = course_common.load_fashion(args, train=False)
    x_train, y_train = course_common.normalize_fashion(train_images).to(device), y_train.to(device)
    x_test, y_test = course_common.normalize_fashion(test_images).to(device), y_test.to(device)
    print(f"data: {x_train.shape[0]} train, {x_test.shape[0]} test images, each (1, 28, 28)")

    model = Cnn(dropout=args.dropout).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    count = sum(p.numel() for p in model.parameters())
    print(f"model: CNN conv 32-64, hidden 128, dropout {args.dropout} ({count} parameters)")
    print(f"training: Adam lr {args.lr} (cosine to 0), batch {args.batch_size}, "
          f"flips {'off' if args.no_flip else 'on'}")

    history = course_common.History(out, ["train_loss", "train_acc", "test_loss", "test_acc",
                                          "seconds", "compute_seconds"])
    for epoch in range(1, args.epochs + 1):
        clock = course_common.Stopwatch()
        train_loss, train_acc, train_compute = train_epoch(model, optimizer, x_train, y_train,
                                                           args, epoch)
        test_loss, test_acc, test_compute, predicted = evaluate(model, x_test, y_test)
        seconds = clock.seconds()
        print(f"epoch {epoch:2}/{args.epochs} | train loss {train_loss:.4f} acc {train_acc:.4f} | "
              f"test loss {test_loss:.4f} acc {test_acc:.4f} | {seconds:.1f}s", flush=True)
        history.add(epoch, [train_loss, train_acc, test_loss, test_acc, seconds,
                            train_compute + test_compute])

    matrix = confusion_matrix(predicted, y_test.cpu(), 10)
    print(f"confusion matrix on {y_test.shape[0]} test images (rows: true class, columns: "
          f"predicted)\n{course_common.format_confusion(matrix)}", end="")
    print(f"misclassified: {y_test.shape[0] - matrix.diagonal().sum().item()} of "
          f"{y_test.shape[0]} test images")  # (the C++ side also draws them)
    history.print_result(LESSON, x_train.shape[0])


# ---- goldens (test.cpp) -------------------------------------------------------------------------
def fixed_state(model):
    """Every weight from sin/cos of its position: no random stream, so the golden is stable."""
    state = {}
    for i, (name, tensor) in enumerate(model.state_dict().items()):
        position = torch.arange(tensor.numel(), dtype=torch.float32)
        if name.endswith("num_batches_tracked") or "running" in name:
            value = tensor.clone()  # the defaults: mean 0, variance 1, count 0
        elif name.startswith("bn") and name.endswith("weight"):
            value = 1.0 + 0.1 * torch.sin(0.9 * position + i)
        elif name.endswith("bias"):
            value = 0.1 * torch.cos(0.7 * position + i)
        else:  # conv and linear weights, about the size PyTorch's own init gives
            fan_in = tensor[0].numel()
            value = torch.sin(0.37 * position + i) / math.sqrt(fan_in)
        state[name] = value.reshape(tensor.shape).to(tensor.dtype)
    model.load_state_dict(state)
    return {name: tensor.clone() for name, tensor in state.items()}


def fixed_images(count):
    """(count, 1, 28, 28): a different stripe pattern per image."""
    position = torch.arange(28 * 28, dtype=torch.float32).reshape(1, 1, 28, 28)
    frequency = 0.01 * (1 + torch.arange(count, dtype=torch.float32)).reshape(count, 1, 1, 1)
    return torch.sin(position * frequency) + 0.5 * torch.cos(0.2 * position / (1 + frequency))


def write_golden():
    cases = {}

    # One Adam step of a small Cnn in train mode (dropout 0: no random stream), then the logits
    # of the same images in eval mode (batch norm's running averages after one update).
    model = Cnn(channels1=4, channels2=4, hidden=8, dropout=0.0)
    state = fixed_state(model)
    images = fixed_images(4)
    labels = torch.arange(4)
    lr = 1e-3
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    loss, logits = train_step(model, optimizer, images, labels)
    model.eval()
    with torch.no_grad():
        eval_logits = model(images)
    cases["one_step"] = {
        "inputs": {"images": images, "labels": labels, "lr": lr, "state": state,
                   "channels1": 4, "channels2": 4, "hidden": 8},
        "outputs": {"loss": loss.item(), "logits": logits,
                    "state": {name: t.clone() for name, t in model.state_dict().items()},
                    "eval_logits": eval_logits},
    }
    # evaluate() of that stepped model on the same images: eval mode, so batch norm uses the
    # running averages (not these four images' statistics).
    eval_loss, eval_accuracy, _, eval_predicted = evaluate(model, images, labels)
    cases["evaluate"] = {
        "inputs": {"note": "the model of one_step/outputs/state, images and labels of one_step"},
        "outputs": {"loss": eval_loss, "accuracy": eval_accuracy, "predicted": eval_predicted},
    }

    # The confusion matrix of fixed predictions: 60 labels, every fourth prediction wrong.
    position = torch.arange(60)
    labels = position % 10
    predicted = torch.where(position % 4 == 0, (labels + 1 + position // 10) % 10, labels)
    cases["confusion"] = {
        "inputs": {"predicted": predicted, "labels": labels, "classes": 10},
        "outputs": {"matrix": confusion_matrix(predicted, labels, 10)},
    }

    # The cosine schedule against PyTorch's own CosineAnnealingLR, stepped 12 times.
    base_lr, total = 1e-3, 12
    scheduler_optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=base_lr)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(scheduler_optimizer, T_max=total)
    lrs = []
    for _ in range(total + 1):
        lrs.append(scheduler_optimizer.param_groups[0]["lr"])
        scheduler_optimizer.step()
        scheduler.step()
    cases["cosine"] = {
        "inputs": {"base_lr": base_lr, "total_steps": total},
        "outputs": {"lr": torch.tensor(lrs, dtype=torch.float64)},
    }

    # Normalising pixels: uint8 (2, 4, 4) -> float (2, 1, 4, 4).
    pixels = (torch.arange(32) * 8).to(torch.uint8).reshape(2, 4, 4)
    cases["normalize"] = {"inputs": {"images": pixels},
                          "outputs": {"normalized": course_common.normalize_fashion(pixels)}}

    import golden  # tests/support/golden.py
    golden.write(LESSON, cases)


def main():
    parser = course_common.parser("08_cnn: a small CNN on Fashion-MNIST", epochs=EPOCHS)
    parser.add_argument("--lr", type=float, default=1e-3, help="Adam's peak learning rate")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--dropout", type=float, default=0.3)
    parser.add_argument("--no-flip", action="store_true",
                        help="train without the random left-right flips")
    args = parser.parse_args()
    if not 1e-6 <= args.lr <= 1.0 or not 1 <= args.batch_size <= 60000 or \
            not 0.0 <= args.dropout <= 0.99:
        parser.error("--lr must be in [1e-6, 1], --batch-size in [1, 60000], --dropout in [0, 0.99]")
    if args.golden:
        write_golden()
        return
    train(args)


if __name__ == "__main__":
    main()
