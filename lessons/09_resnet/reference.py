#!/usr/bin/env python3
"""09_resnet in Python PyTorch: the same ResNet, batch augmentation (random crop, flips), SGD with
Nesterov momentum and weight decay, label smoothing, warm-up then cosine, the best epoch's
checkpoint and the time to accuracy, with the same flags as main.cpp; it prints the same lines.

    python lessons/09_resnet/reference.py --threads 2     # train (12 epochs)
    python lessons/09_resnet/reference.py --smoke         # 512 images, seconds
    python lessons/09_resnet/reference.py --golden        # write lessons/09_resnet/golden.json
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

LESSON = "09_resnet"
EPOCHS = 12
LOG_EVERY = 50
EVAL_BATCH = 1000
BLACK = (0.0 - course_common.FASHION_MEAN) / course_common.FASHION_STD  # kBlack
MILESTONES = [0.92, 0.93]


# ---- the model (resnet.h) ---------------------------------------------------------------------
class BasicBlock(nn.Module):
    """relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)); the shortcut projects x with a 1x1
    conv and a batch norm when the stride or the channels change."""

    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, kernel_size=3, stride=stride,
                               padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, kernel_size=3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut = None
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + (x if self.shortcut is None else self.shortcut(x)))


class ResNet(nn.Module):
    """stem conv 3x3 -> stages of BasicBlocks (each starts with stride 2) -> mean -> linear."""

    def __init__(self, in_channels=1, stem_channels=32, channels=(32, 64, 128), blocks=2,
                 classes=10):
        super().__init__()
        self.stem_conv = nn.Conv2d(in_channels, stem_channels, kernel_size=3, padding=1,
                                   bias=False)
        self.stem_bn = nn.BatchNorm2d(stem_channels)
        layers, cin = [], stem_channels
        for out in channels:
            for block in range(blocks):
                layers.append(BasicBlock(cin, out, stride=2 if block == 0 else 1))
                cin = out
        self.blocks = nn.Sequential(*layers)
        self.head = nn.Linear(cin, classes)

    def forward(self, images):
        x = F.relu(self.stem_bn(self.stem_conv(images)))  # (B, stem, 28, 28)
        x = self.blocks(x)                                 # (B, channels[-1], 4, 4)
        return self.head(x.mean((2, 3)))                   # (B, classes)


# ---- augmentation, schedule, optimizer, step (main.cpp) ----------------------------------------
def random_crop(images, padding, fill):
    if padding == 0:
        return images
    B, C, H, W = images.shape
    padded = F.pad(images, (padding, padding, padding, padding), value=fill)
    dy = torch.randint(0, 2 * padding + 1, (B, 1, 1, 1), device=images.device)
    dx = torch.randint(0, 2 * padding + 1, (B, 1, 1, 1), device=images.device)
    rows = dy + torch.arange(H, device=images.device).view(1, 1, H, 1)
    cols = dx + torch.arange(W, device=images.device).view(1, 1, 1, W)
    batch = torch.arange(B, device=images.device).view(B, 1, 1, 1)
    channel = torch.arange(C, device=images.device).view(1, C, 1, 1)
    return padded[batch, channel, rows, cols]


def random_flip(images):
    flip = torch.rand(images.shape[0], 1, 1, 1, device=images.device) < 0.5
    return torch.where(flip, images.flip(3), images)


def augment(images, args):
    x = random_crop(images, args.padding, BLACK)
    return x if args.no_flip else random_flip(x)


def cosine_lr(base_lr, step, total_steps):
    if total_steps <= 0:
        return base_lr
    progress = min(max(step, 0), total_steps) / total_steps
    return base_lr * 0.5 * (1.0 + math.cos(math.pi * progress))


def pytorch_warmup_cosine(peak, warmup_steps, total_steps, steps):
    """The learning rate of each of `steps` steps from PyTorch's own schedulers: LinearLR warm-up
    then CosineAnnealingLR (SequentialLR), stepped once per training step. Goldens only."""
    sgd = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=peak)
    scheduler = torch.optim.lr_scheduler.SequentialLR(sgd, [
        torch.optim.lr_scheduler.LinearLR(sgd, start_factor=1 / warmup_steps,
                                          total_iters=warmup_steps - 1),
        torch.optim.lr_scheduler.CosineAnnealingLR(sgd, T_max=total_steps - warmup_steps)],
        milestones=[warmup_steps])
    lrs = []
    for _ in range(steps):
        lrs.append(sgd.param_groups[0]["lr"])
        sgd.step()
        scheduler.step()
    return lrs


def warmup_cosine_lr(peak, step, warmup_steps, total_steps):
    if step < warmup_steps:
        return peak * (step + 1) / warmup_steps
    return cosine_lr(peak, step - warmup_steps, total_steps - warmup_steps)


def set_lr(optimizer, lr):
    for group in optimizer.param_groups:
        group["lr"] = lr


def make_optimizer(model, lr, momentum, weight_decay):
    return torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum, nesterov=True,
                           weight_decay=weight_decay)


def train_step(model, optimizer, images, labels, label_smoothing):
    optimizer.zero_grad()
    logits = model(images)
    loss = F.cross_entropy(logits, labels, label_smoothing=label_smoothing)
    loss.backward()
    optimizer.step()
    return loss.detach(), logits.detach()


# ---- train and evaluate (main.cpp) ------------------------------------------------------------
def evaluate(model, x, y):
    model.eval()
    clock = course_common.Stopwatch()
    loss_sum = torch.zeros((), device=x.device)
    correct = torch.zeros((), dtype=torch.int64, device=x.device)
    with torch.no_grad():
        for start in range(0, x.shape[0], EVAL_BATCH):
            logits = model(x[start:start + EVAL_BATCH])
            labels = y[start:start + EVAL_BATCH]
            loss_sum += F.cross_entropy(logits, labels, reduction="sum")
            correct += (logits.argmax(1) == labels).sum()
    if x.is_cuda:
        torch.cuda.synchronize()
    compute = clock.seconds()
    model.train()
    n = x.shape[0]
    return loss_sum.item() / n, correct.item() / n, compute


def train_epoch(model, optimizer, x_train, y_train, args, epoch):
    model.train()
    n = x_train.shape[0]
    steps = (n + args.batch_size - 1) // args.batch_size
    warmup_steps = max(1, math.floor(args.warmup_epochs * steps + 0.5))  # std::llround
    order = torch.randperm(n).to(x_train.device)
    loss_sum = torch.zeros((), device=x_train.device)
    correct = torch.zeros((), dtype=torch.int64, device=x_train.device)
    compute = 0.0
    for step in range(steps):
        set_lr(optimizer, warmup_cosine_lr(args.lr, (epoch - 1) * steps + step, warmup_steps,
                                           args.epochs * steps))
        index = order[step * args.batch_size:(step + 1) * args.batch_size]
        x, y = augment(x_train[index], args), y_train[index]
        clock = course_common.Stopwatch()
        loss, logits = train_step(model, optimizer, x, y, args.label_smoothing)
        if x.is_cuda:
            torch.cuda.synchronize()
        compute += clock.seconds()
        loss_sum += loss * x.shape[0]
        correct += (logits.argmax(1) == y).sum()
        if (step + 1) % LOG_EVERY == 0 or step + 1 == steps:
            seen = min(n, (step + 1) * args.batch_size)
            loss_now = loss_sum.item() / seen
            if not math.isfinite(loss_now):
                raise SystemExit(f"error: loss became {loss_now} at epoch {epoch}; lower --lr "
                                 f"(now {args.lr})")
    return loss_sum.item() / n, correct.item() / n, compute


def record_milestones(milestones, epoch, seconds, accuracy):
    for milestone in milestones:
        if milestone["epoch"] == 0 and accuracy >= milestone["accuracy"]:
            milestone["epoch"], milestone["seconds"] = epoch, seconds


def train(args):
    device, out = course_common.begin(args, LESSON)
    train_images, y_train = course_common.load_fashion(args, train=True)
    test_images, y_test = course_common.load_fashion(args, train=False)
    x_train, y_train = course_common.normalize_fashion(train_images).to(device), y_train.to(device)
    x_test, y_test = course_common.normalize_fashion(test_images).to(device), y_test.to(device)
    print(f"data: {x_train.shape[0]} train, {x_test.shape[0]} test images, each (1, 28, 28)")

    channels = (32, 64, 128)
    model = ResNet(channels=channels, blocks=args.blocks).to(device)
    optimizer = make_optimizer(model, args.lr, 0.9, args.weight_decay)
    count = sum(p.numel() for p in model.parameters())
    print(f"model: ResNet stem 32, stages {'-'.join(map(str, channels))}, {args.blocks} blocks "
          f"each ({count} parameters)")
    print(f"training: SGD nesterov lr {args.lr:g} ({args.warmup_epochs:g} warm-up epochs, then "
          f"cosine to 0), momentum {0.9:g}, weight decay {args.weight_decay:g}, label smoothing "
          f"{args.label_smoothing:g}, batch {args.batch_size}, crop padding {args.padding}, "
          f"flips {'off' if args.no_flip else 'on'}")

    history = course_common.History(out, ["train_loss", "train_acc", "test_loss", "test_acc",
                                          "seconds", "compute_seconds"])
    milestones = [{"accuracy": a, "epoch": 0, "seconds": math.nan} for a in MILESTONES]
    best_path = out / "best.pt"
    best_accuracy, best_epoch = 0.0, 0
    run_clock = course_common.Stopwatch()
    for epoch in range(1, args.epochs + 1):
        clock = course_common.Stopwatch()
        train_loss, train_acc, train_compute = train_epoch(model, optimizer, x_train, y_train,
                                                           args, epoch)
        test_loss, test_acc, test_compute = evaluate(model, x_test, y_test)
        seconds = clock.seconds()
        record_milestones(milestones, epoch, run_clock.seconds(), test_acc)
        best = test_acc > best_accuracy
        if best:
            best_accuracy, best_epoch = test_acc, epoch
            torch.save(model.state_dict(), best_path)
        print(f"epoch {epoch:2}/{args.epochs} lr {optimizer.param_groups[0]['lr']:.4f} | "
              f"train loss {train_loss:.4f} acc {train_acc:.4f} | test loss {test_loss:.4f} "
              f"acc {test_acc:.4f} | {seconds:.1f}s{' *' if best else ''}", flush=True)
        history.add(epoch, [train_loss, train_acc, test_loss, test_acc, seconds,
                            train_compute + test_compute])

    fields = {}
    for milestone in milestones:
        accuracy, percent = milestone["accuracy"], round(100 * milestone["accuracy"])
        if milestone["epoch"] > 0:
            print(f"time to test accuracy {accuracy:.2f}: epoch {milestone['epoch']}, "
                  f"{milestone['seconds']:.1f}s")
        else:
            print(f"time to test accuracy {accuracy:.2f}: not reached")
        fields[f"epochs_to_0{percent}"] = milestone["epoch"] if milestone["epoch"] else math.nan
        fields[f"seconds_to_0{percent}"] = milestone["seconds"]
    reloaded = ResNet(channels=channels, blocks=args.blocks).to(device)
    reloaded.load_state_dict(torch.load(best_path, map_location=device))
    _, again, _ = evaluate(reloaded, x_test, y_test)
    print(f"best epoch {best_epoch}: test acc {best_accuracy:.4f}; best.pt reloaded: test acc "
          f"{again:.4f}")

    seconds, compute = history.column("seconds"), history.column("compute_seconds")
    total, epochs = sum(seconds), len(seconds)
    course_common.result_line(
        LESSON, epochs=epochs, epoch_time_s=total / epochs,
        train_samples_per_s=x_train.shape[0] * epochs / total, test_acc=history.last("test_acc"),
        outside_share=1.0 - sum(compute) / total, best_test_acc=best_accuracy,
        best_epoch=best_epoch, **fields)


# ---- goldens (test.cpp) -------------------------------------------------------------------------
def fixed_state(model):
    """Every weight and batch norm statistic from sin/cos of its position: no random stream."""
    state = {}
    for i, (name, tensor) in enumerate(model.state_dict().items()):
        position = torch.arange(tensor.numel(), dtype=torch.float32)
        if name.endswith("num_batches_tracked"):
            value = torch.tensor(3)
        elif name.endswith("running_mean"):
            value = 0.1 * torch.sin(1.3 * position + i)
        elif name.endswith("running_var"):
            value = 1.0 + 0.5 * torch.sin(0.7 * position + i) ** 2
        elif tensor.dim() == 1 and name.endswith("weight"):  # batch norm's scale
            value = 1.0 + 0.1 * torch.sin(0.9 * position + i)
        elif name.endswith("bias"):
            value = 0.1 * torch.cos(0.7 * position + i)
        else:  # conv and linear weights, about the size PyTorch's own init gives
            value = torch.sin(0.37 * position + i) / math.sqrt(tensor[0].numel())
        state[name] = value.reshape(tensor.shape).to(tensor.dtype)
    model.load_state_dict(state)
    return {name: tensor.clone() for name, tensor in state.items()}


def fixed_images(count, channels=1, size=28):
    """(count, channels, size, size): a different stripe pattern per image."""
    position = torch.arange(channels * size * size, dtype=torch.float32)
    position = position.reshape(1, channels, size, size)
    frequency = 0.01 * (1 + torch.arange(count, dtype=torch.float32)).reshape(count, 1, 1, 1)
    return torch.sin(position * frequency) + 0.5 * torch.cos(0.2 * position / (1 + frequency))


def block_case(in_channels, out_channels, stride, size):
    block = BasicBlock(in_channels, out_channels, stride)
    state = fixed_state(block)
    x = fixed_images(2, in_channels, size)
    block.eval()
    with torch.no_grad():
        eval_out = block(x)
    block.train()
    with torch.no_grad():
        train_out = block(x)
    return {"inputs": {"x": x, "state": state, "in_channels": in_channels,
                       "out_channels": out_channels, "stride": stride},
            "outputs": {"eval": eval_out, "train": train_out,
                        "state": {k: v.clone() for k, v in block.state_dict().items()}}}


def write_golden():
    cases = {
        # A block that keeps the shape (identity shortcut) and one that changes it (projection).
        "block_identity": block_case(4, 4, 1, 6),
        "block_projection": block_case(4, 8, 2, 7),
    }

    # Two SGD steps (Nesterov, weight decay, label smoothing) of a small ResNet in train mode.
    # Large weight decay and smoothing, so that forgetting either changes the numbers clearly.
    lr, momentum, weight_decay, smoothing = 0.1, 0.9, 0.01, 0.2
    model = ResNet(stem_channels=4, channels=(4, 8), blocks=2)
    state = fixed_state(model)
    images = fixed_images(4)
    labels = torch.tensor([0, 3, 7, 9])
    optimizer = make_optimizer(model, lr, momentum, weight_decay)
    model.train()
    loss1, logits1 = train_step(model, optimizer, images, labels, smoothing)
    loss2, logits2 = train_step(model, optimizer, images, labels, smoothing)
    cases["two_steps"] = {
        "inputs": {"images": images, "labels": labels, "lr": lr, "momentum": momentum,
                   "weight_decay": weight_decay, "label_smoothing": smoothing, "state": state,
                   "stem_channels": 4, "channels": torch.tensor([4, 8]), "blocks": 2},
        "outputs": {"loss1": loss1.item(), "logits1": logits1, "loss2": loss2.item(),
                    "logits2": logits2,
                    "state": {k: v.clone() for k, v in model.state_dict().items()}},
    }
    # evaluate() of the stepped model on the same images: eval mode, plain cross-entropy.
    eval_loss, eval_accuracy, _ = evaluate(model, images, labels)
    cases["evaluate"] = {
        "inputs": {"note": "the model of two_steps/outputs/state, images and labels of two_steps"},
        "outputs": {"loss": eval_loss, "accuracy": eval_accuracy},
    }

    # Warm-up then cosine, from PyTorch's own schedulers, stepped once per training step.
    peak, warmup, total = 0.1, 3, 12
    lrs = pytorch_warmup_cosine(peak, warmup, total, total + 1)
    for step, lr in enumerate(lrs):
        assert abs(lr - warmup_cosine_lr(peak, step, warmup, total)) < 1e-12, step
    cases["schedule"] = {"inputs": {"peak": peak, "warmup_steps": warmup, "total_steps": total},
                         "outputs": {"lr": torch.tensor(lrs, dtype=torch.float64)}}

    # The random crop of fixed images right after torch.manual_seed(0): the same generator gives
    # the same offsets in C++.
    images = fixed_images(6, 1, 8)
    torch.manual_seed(0)
    cases["crop_seeded"] = {"inputs": {"images": images, "padding": 2, "fill": BLACK, "seed": 0},
                            "outputs": {"cropped": random_crop(images, 2, BLACK)}}

    import golden  # tests/support/golden.py
    golden.write(LESSON, cases)


def main():
    parser = course_common.parser("09_resnet: a small ResNet on Fashion-MNIST", epochs=EPOCHS)
    parser.add_argument("--lr", type=float, default=0.1, help="SGD's peak learning rate")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--weight-decay", type=float, default=5e-4)
    parser.add_argument("--label-smoothing", type=float, default=0.1)
    parser.add_argument("--warmup-epochs", type=float, default=1.0)
    parser.add_argument("--padding", type=int, default=2, help="random crop: pixels of shift")
    parser.add_argument("--no-flip", action="store_true")
    parser.add_argument("--blocks", type=int, default=2, help="BasicBlocks per stage")
    args = parser.parse_args()
    if not (1e-6 <= args.lr <= 10 and 1 <= args.batch_size <= 60000
            and 0 <= args.weight_decay <= 1 and 0 <= args.label_smoothing <= 0.99
            and 0 <= args.warmup_epochs <= 100 and 0 <= args.padding <= 8
            and 1 <= args.blocks <= 8):
        parser.error("a flag is out of range (see main.cpp's flags)")
    if args.golden:
        write_golden()
        return
    train(args)


if __name__ == "__main__":
    main()
