#!/usr/bin/env python3
"""05_logistic_regression in Python PyTorch: the same model, init, loss, optimizer, learning-rate
schedule, epochs and flags as main.cpp; it prints the same lines and the same RESULT line.

    python lessons/05_logistic_regression/reference.py --threads 2   # train (6 epochs)
    python lessons/05_logistic_regression/reference.py --smoke       # 512 images, seconds
    python lessons/05_logistic_regression/reference.py --golden      # write golden.json here
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

LESSON = "05_logistic_regression"
EPOCHS = 6
LOG_EVERY = 100
EVAL_BATCH = 1000


class Config:
    lr = 0.02            # SGD's learning rate in epoch 1
    lr_decay = 0.5       # after each epoch: lr *= lr_decay
    momentum = 0.9
    weight_decay = 1e-4
    batch_size = 64


# ---- the model, the loss, accuracy (main.cpp) --------------------------------------------------
class SoftmaxRegression(nn.Module):
    """logits = x W^T + b; (B, 1, 28, 28) images are flattened to (B, 784) rows first."""

    def __init__(self, in_features=28 * 28, classes=10):
        super().__init__()
        self.linear = nn.Linear(in_features, classes)

    def forward(self, images):
        return self.linear(images.flatten(1))


def cross_entropy(logits, labels):
    return F.nll_loss(F.log_softmax(logits, dim=1), labels)


def count_correct(logits, labels):
    return logits.argmax(dim=1).eq(labels).sum()


def make_optimizer(model, config):
    return torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum,
                           weight_decay=config.weight_decay)


def epoch_lr(config, epoch):
    return config.lr * config.lr_decay ** (epoch - 1)


def set_lr(optimizer, lr):
    for group in optimizer.param_groups:
        group["lr"] = lr


def train_step(model, optimizer, images, labels):
    optimizer.zero_grad()
    logits = model(images)
    loss = cross_entropy(logits, labels)
    loss.backward()
    optimizer.step()
    return loss.detach(), logits.detach()


def train_epoch(model, optimizer, x_train, y_train, config, epoch):
    set_lr(optimizer, epoch_lr(config, epoch))
    model.train()
    n = x_train.shape[0]
    steps = (n + config.batch_size - 1) // config.batch_size
    order = torch.randperm(n).to(x_train.device)
    loss_sum = torch.zeros((), device=x_train.device)
    correct = torch.zeros((), dtype=torch.int64, device=x_train.device)
    compute = 0.0
    for step in range(steps):
        index = order[step * config.batch_size:(step + 1) * config.batch_size]
        x, y = x_train[index], y_train[index]
        clock = course_common.Stopwatch()
        loss, logits = train_step(model, optimizer, x, y)
        if x.is_cuda:
            torch.cuda.synchronize()
        compute += clock.seconds()
        loss_sum += loss * x.shape[0]
        correct += count_correct(logits, y)
        if (step + 1) % LOG_EVERY == 0 or step + 1 == steps:
            if not math.isfinite(loss.item()):
                raise SystemExit(f"error: loss became {loss.item()} at epoch {epoch}; lower --lr "
                                 f"(now {config.lr})")
    return loss_sum.item() / n, correct.item() / n, compute


def evaluate(model, x, y):
    was_training = model.training
    model.eval()
    loss_sum = torch.zeros((), device=x.device)
    correct = torch.zeros((), dtype=torch.int64, device=x.device)
    with torch.no_grad():
        for start in range(0, x.shape[0], EVAL_BATCH):
            logits = model(x[start:start + EVAL_BATCH])
            labels = y[start:start + EVAL_BATCH]
            loss_sum += cross_entropy(logits, labels) * labels.shape[0]
            correct += count_correct(logits, labels)
    model.train(was_training)
    n = x.shape[0]
    return loss_sum.item() / n, correct.item() / n


# ---- the run ------------------------------------------------------------------------------------
def train(args, config):
    device, out = course_common.begin(args, LESSON)
    train_images, y_train = course_common.load_fashion(args, train=True)
    test_images, y_test = course_common.load_fashion(args, train=False)
    x_train, y_train = course_common.normalize_fashion(train_images).to(device), y_train.to(device)
    x_test, y_test = course_common.normalize_fashion(test_images).to(device), y_test.to(device)
    print(f"data: {x_train.shape[0]} train, {x_test.shape[0]} test images, each (1, 28, 28): "
          f"(pixels / 255 - {course_common.FASHION_MEAN}) / {course_common.FASHION_STD}")
    print(f"train inputs: mean {x_train.mean().item():.3f} std {x_train.std().item():.3f}")

    model = SoftmaxRegression().to(device)
    optimizer = make_optimizer(model, config)
    print(f"model: Linear(784 -> 10), {sum(p.numel() for p in model.parameters())} parameters")
    print(f"training: SGD lr {config.lr:g} (halved every epoch), momentum {config.momentum:g}, "
          f"weight decay {config.weight_decay:g}, batch {config.batch_size}")

    with torch.no_grad():
        logits, labels = model(x_train[:config.batch_size]), y_train[:config.batch_size]
        fused = F.cross_entropy(logits, labels).item()
        two_steps = cross_entropy(logits, labels).item()
    print(f"untrained loss: cross_entropy {fused:.6f} | log_softmax+nll_loss {two_steps:.6f} | "
          f"difference {abs(fused - two_steps):.1e} | guessing gives ln(10) = {math.log(10):.4f}")

    history = course_common.History(out, ["train_loss", "train_acc", "test_loss", "test_acc",
                                          "seconds", "compute_seconds"])
    for epoch in range(1, args.epochs + 1):
        clock = course_common.Stopwatch()
        train_loss, train_acc, compute = train_epoch(model, optimizer, x_train, y_train, config,
                                                     epoch)
        test_loss, test_acc = evaluate(model, x_test, y_test)
        seconds = clock.seconds()
        print(f"epoch {epoch}/{args.epochs} | lr {epoch_lr(config, epoch):.5f} | train loss "
              f"{train_loss:.4f} acc {train_acc:.4f} | test loss {test_loss:.4f} acc "
              f"{test_acc:.4f} | {seconds:.1f}s", flush=True)
        history.add(epoch, [train_loss, train_acc, test_loss, test_acc, seconds, compute])
    print(f"wrote metrics.csv in {out}")  # (the C++ side also draws the curves and the weights)

    model.eval()
    with torch.no_grad():
        probabilities = torch.softmax(model(x_test[:5]), dim=1).cpu()
    best, predicted = probabilities.max(dim=1)
    for i in range(5):
        print(f"test image {i}: label {course_common.FASHION_CLASSES[y_test[i]]:<11} predicted "
              f"{course_common.FASHION_CLASSES[predicted[i]]:<11} p={best[i].item():.3f}")
    history.print_result(LESSON, x_train.shape[0])


# ---- goldens (test.cpp) -------------------------------------------------------------------------
def small_model(in_features, classes=10):
    """A small twin of the model with fixed weights (sin/cos, no random stream)."""
    model = SoftmaxRegression(in_features, classes)
    with torch.no_grad():
        n = in_features * classes
        model.linear.weight.copy_(0.1 * torch.sin(0.37 * torch.arange(n, dtype=torch.float32))
                                  .reshape(classes, in_features))
        model.linear.bias.copy_(0.05 * torch.cos(torch.arange(classes, dtype=torch.float32)))
    return model


def weights_of(model):
    return {"weight": model.linear.weight.detach().clone(),
            "bias": model.linear.bias.detach().clone()}


def write_golden():
    cases = {}

    # The loss and accuracy of fixed logits: rows 0-3 name the top-scoring class, rows 4-5
    # another one, so 4 of 6 are correct.
    logits = 3.0 * torch.sin(0.7 * torch.arange(60, dtype=torch.float32)).reshape(6, 10)
    best = logits.argmax(dim=1)
    labels = torch.cat([best[:4], (best[4:] + 3) % 10])
    cases["cross_entropy"] = {
        "inputs": {"logits": logits, "labels": labels},
        "outputs": {"cross_entropy": F.cross_entropy(logits, labels).item(),
                    "log_softmax": F.log_softmax(logits, dim=1),
                    "softmax": torch.softmax(logits, dim=1),
                    "correct": int(count_correct(logits, labels).item())}}

    # Three SGD steps (momentum, weight decay) of a small twin with 20 inputs: the code is the same
    # as for 784, and the golden stays small. Step 1 is plain SGD (the momentum buffer starts
    # empty); steps 2 and 3 use the momentum.
    in_features, steps = 20, 3
    model = small_model(in_features)
    images = torch.sin(0.13 * torch.arange(12 * in_features, dtype=torch.float32) + 0.5) \
        .reshape(12, in_features)
    labels = torch.arange(12) % 10
    config = Config()
    config.lr = 0.1
    inputs = dict(weights_of(model), images=images, labels=labels, lr=config.lr,
                  momentum=config.momentum, weight_decay=config.weight_decay, steps=steps)
    optimizer = make_optimizer(model, config)
    losses, outputs = [], {}
    for step in range(1, steps + 1):
        loss, step_logits = train_step(model, optimizer, images, labels)
        losses.append(loss.item())
        if step == 1:
            outputs.update(logits_1=step_logits, weight_1=model.linear.weight.detach().clone(),
                           bias_1=model.linear.bias.detach().clone())
    outputs.update(weight_3=model.linear.weight.detach().clone(),
                   bias_3=model.linear.bias.detach().clone(), losses=torch.tensor(losses))
    cases["train_step"] = {"inputs": inputs, "outputs": outputs}

    # Evaluation of 23 samples; every third gets a label the model does not predict: 15 correct.
    model = small_model(in_features)
    images = torch.cos(0.07 * torch.arange(23 * in_features, dtype=torch.float32)) \
        .reshape(23, in_features) * 2.0
    with torch.no_grad():
        predicted = model(images).argmax(dim=1)
    labels = torch.where(torch.arange(23) % 3 == 0, (predicted + 1) % 10, predicted)
    loss, accuracy = evaluate(model, images, labels)
    cases["evaluate"] = {"inputs": dict(weights_of(model), images=images, labels=labels),
                         "outputs": {"loss": loss, "accuracy": accuracy}}

    # The learning rate of epochs 1..6: PyTorch's own StepLR, stepped after each epoch.
    config = Config()
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=config.lr)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=config.lr_decay)
    lrs = []
    for _ in range(EPOCHS):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    cases["schedule"] = {"inputs": {"lr": config.lr, "lr_decay": config.lr_decay},
                         "outputs": {"lr": torch.tensor(lrs, dtype=torch.float64)}}

    import golden  # tests/support/golden.py
    golden.write(LESSON, cases)


def main():
    parser = course_common.parser("05_logistic_regression: softmax regression on Fashion-MNIST",
                                  epochs=EPOCHS)
    parser.add_argument("--lr", type=float, default=Config.lr,
                        help="SGD's learning rate in epoch 1")
    parser.add_argument("--batch-size", type=int, default=Config.batch_size)
    args = parser.parse_args()
    if not 1e-6 <= args.lr <= 10.0 or not 1 <= args.batch_size <= 60000:
        parser.error("--lr must be in [1e-6, 10], --batch-size in [1, 60000]")
    if args.golden:
        write_golden()
        return
    config = Config()
    config.lr, config.batch_size = args.lr, args.batch_size
    train(args, config)


if __name__ == "__main__":
    main()
