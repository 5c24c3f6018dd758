"""05_logistic_regression in Python PyTorch: the same model, init, batch size, optimizer, learning
rate schedule, epochs and flags as main.cpp.

    python reference.py --threads 2          train, print the same lines and the RESULT line
    python reference.py --golden             write tests/golden/05_logistic_regression.json
"""
import math
import pathlib
import sys

import torch
import torch.nn.functional as F

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "common" / "python"))
sys.path.insert(0, str(ROOT / "tests" / "support"))
import course_common as cc  # noqa: E402

LESSON = "05_logistic_regression"
PIXELS, CLASSES = 28 * 28, 10
PIXEL_MEAN, PIXEL_STD = 0.2860, 0.3530


class Config:
    batch_size = 64         # images per SGD step
    learning_rate = 0.02    # SGD step size in epoch 1
    lr_decay = 0.5          # after each epoch: learning_rate *= lr_decay
    momentum = 0.9
    weight_decay = 1e-4
    eval_batch_size = 1000
    smoke_samples = 512
    log_every = 100


class SoftmaxRegression(torch.nn.Module):
    """logits = x W^T + b: course::logistic_regression::SoftmaxRegression."""

    def __init__(self, in_features=PIXELS, num_classes=CLASSES):
        super().__init__()
        self.linear = torch.nn.Linear(in_features, num_classes)

    def forward(self, inputs):
        return self.linear(inputs.flatten(1))  # (B, in_features) -> (B, C)


def prepare_images(images):
    """uint8 (N, 28, 28) -> float (N, 784), normalised."""
    pixels = images.to(torch.float32).div(255.0)
    return pixels.sub(PIXEL_MEAN).div(PIXEL_STD).reshape(images.shape[0], -1)


def cross_entropy_two_steps(logits, targets):
    return F.nll_loss(torch.log_softmax(logits, dim=1), targets)


def count_correct(logits, targets):
    return logits.argmax(dim=1).eq(targets).sum()


def train_step(model, optimizer, inputs, targets):
    optimizer.zero_grad()
    logits = model(inputs)
    loss = F.cross_entropy(logits, targets)
    loss.backward()
    optimizer.step()
    return loss.detach(), logits.detach()


def evaluate(model, inputs, targets, batch_size):
    was_training = model.training
    model.eval()
    loss_sum = torch.zeros((), dtype=inputs.dtype, device=inputs.device)
    correct = torch.zeros((), dtype=torch.long, device=inputs.device)
    with torch.no_grad():
        for start in range(0, inputs.shape[0], batch_size):
            x, y = inputs[start:start + batch_size], targets[start:start + batch_size]
            logits = model(x)
            loss_sum += F.cross_entropy(logits, y, reduction="sum")
            correct += count_correct(logits, y)
    model.train(was_training)
    n = inputs.shape[0]
    return loss_sum.item() / n, correct.item() / n


def set_learning_rate(optimizer, learning_rate):
    for group in optimizer.param_groups:
        group["lr"] = learning_rate


def make_optimizer(model, config, learning_rate):
    return torch.optim.SGD(model.parameters(), lr=learning_rate, momentum=config.momentum,
                           weight_decay=config.weight_decay)


# ---- golden ------------------------------------------------------------------------------------
def small_model(in_features, num_classes):
    """A small twin of the model with fixed weights (sin/cos, no random stream)."""
    model = SoftmaxRegression(in_features, num_classes)
    with torch.no_grad():
        n = in_features * num_classes
        model.linear.weight.copy_(0.1 * torch.sin(0.37 * torch.arange(n, dtype=torch.float32))
                                  .reshape(num_classes, in_features))
        model.linear.bias.copy_(0.05 * torch.cos(torch.arange(num_classes, dtype=torch.float32)))
    return model


def golden():
    cases = {}

    images = (torch.arange(3 * 28 * 28) * 37 % 256).to(torch.uint8).reshape(3, 28, 28)
    cases["prepare_images"] = {"inputs": {"images": images},
                               "outputs": {"inputs": prepare_images(images)}}

    logits = 3.0 * torch.sin(0.7 * torch.arange(60, dtype=torch.float32)).reshape(6, 10)
    best = logits.argmax(dim=1)
    # Rows 0-3 name the top-scoring class, rows 4-5 another one: 4 of 6 correct.
    targets = torch.cat([best[:4], (best[4:] + 3) % 10])
    cases["cross_entropy"] = {
        "inputs": {"logits": logits, "targets": targets},
        "outputs": {"cross_entropy": F.cross_entropy(logits, targets).item(),
                    "two_steps": cross_entropy_two_steps(logits, targets).item(),
                    "log_softmax": torch.log_softmax(logits, dim=1),
                    "softmax": torch.softmax(logits, dim=1),
                    "correct": int(count_correct(logits, targets).item())}}

    # One optimizer run of three steps on a small twin (20 inputs): the code is the same as for
    # 784 inputs, and the golden stays small. Step 1 is plain SGD; steps 2-3 use the momentum.
    in_features, steps = 20, 3
    model = small_model(in_features, CLASSES)
    inputs = torch.sin(0.13 * torch.arange(12 * in_features, dtype=torch.float32) + 0.5) \
        .reshape(12, in_features)
    targets = torch.arange(12) % CLASSES
    lr, momentum, weight_decay = 0.1, Config.momentum, Config.weight_decay
    step_inputs = {"weight": model.linear.weight.detach().clone(),
                   "bias": model.linear.bias.detach().clone(),
                   "inputs": inputs, "targets": targets, "learning_rate": lr,
                   "momentum": momentum, "weight_decay": weight_decay, "steps": steps}
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum,
                                weight_decay=weight_decay)
    losses, outputs = [], {}
    for step in range(1, steps + 1):
        loss, step_logits = train_step(model, optimizer, inputs, targets)
        losses.append(loss.item())
        if step == 1:
            outputs["logits_1"] = step_logits
        outputs[f"weight_{step}"] = model.linear.weight.detach().clone()
        outputs[f"bias_{step}"] = model.linear.bias.detach().clone()
    del outputs["weight_2"], outputs["bias_2"]
    outputs["losses"] = torch.tensor(losses)
    cases["train_step"] = {"inputs": step_inputs, "outputs": outputs}

    # Evaluation in batches of 5 over 23 samples (the last batch has 3).
    model = small_model(in_features, CLASSES)
    inputs = torch.cos(0.07 * torch.arange(23 * in_features, dtype=torch.float32)) \
        .reshape(23, in_features) * 2.0
    with torch.no_grad():
        predicted = model(inputs).argmax(dim=1)
    # Every third sample gets a label the model does not predict: 15 of 23 correct.
    targets = torch.where(torch.arange(23) % 3 == 0, (predicted + 1) % CLASSES, predicted)
    loss, accuracy = evaluate(model, inputs, targets, batch_size=5)
    cases["evaluate"] = {
        "inputs": {"weight": model.linear.weight.detach().clone(),
                   "bias": model.linear.bias.detach().clone(),
                   "inputs": inputs, "targets": targets, "batch_size": 5},
        "outputs": {"loss": loss, "accuracy": accuracy}}

    import golden as golden_file  # tests/support/golden.py
    golden_file.write(LESSON, cases)


# ---- training ----------------------------------------------------------------------------------
def main():
    config = Config()
    parser = cc.parser("Softmax regression on Fashion-MNIST", epochs=6)
    parser.add_argument("--lr", type=float, default=config.learning_rate)
    parser.add_argument("--batch-size", type=int, default=config.batch_size)
    args = parser.parse_args()
    if args.golden:
        golden()
        return
    if not args.lr > 0 or args.batch_size < 1 or args.epochs < 1:
        raise SystemExit(f"error: --lr must be above 0, --batch-size and --epochs at least 1 "
                         f"(got {args.lr}, {args.batch_size}, {args.epochs}); try --lr 0.02 "
                         "--batch-size 64")
    config.learning_rate, config.batch_size = args.lr, args.batch_size
    device, out = cc.begin(args, LESSON)

    directory = cc.find_dataset("fashion-mnist", args.data_dir, cc.FASHION_FILES)
    limit = config.smoke_samples if args.smoke else 0

    def load_split(train):
        images, labels = cc.load_fashion_mnist(directory, train, limit)
        return prepare_images(images).to(device), labels.to(device)

    train_x, train_y = load_split(True)
    test_x, test_y = load_split(False)
    print(f"data: train {train_x.shape[0]} x {train_x.shape[1]}, "
          f"test {test_x.shape[0]} x {test_x.shape[1]}")
    print(f"train inputs: mean {train_x.mean().item():.3f} std {train_x.std().item():.3f}")

    model = SoftmaxRegression(PIXELS, CLASSES).to(device)
    print(f"model: Linear({PIXELS} -> {CLASSES}), "
          f"{sum(p.numel() for p in model.parameters())} parameters")
    with torch.no_grad():
        logits, targets = model(train_x[:config.batch_size]), train_y[:config.batch_size]
        fused = F.cross_entropy(logits, targets).item()
        two_steps = cross_entropy_two_steps(logits, targets).item()
    print(f"untrained loss: cross_entropy {fused:.6f} | log_softmax+nll_loss {two_steps:.6f} | "
          f"difference {abs(fused - two_steps):.1e} | guessing gives ln(10) = {math.log(10):.4f}")

    optimizer = make_optimizer(model, config, config.learning_rate)
    count = train_x.shape[0]
    total_seconds = compute_seconds = 0.0
    test_accuracy = 0.0
    for epoch in range(1, args.epochs + 1):
        epoch_clock = cc.Stopwatch()
        learning_rate = config.learning_rate * config.lr_decay ** (epoch - 1)
        set_learning_rate(optimizer, learning_rate)
        order = torch.randperm(count).to(device)
        loss_sum = torch.zeros((), device=device)
        correct = torch.zeros((), dtype=torch.long, device=device)
        epoch_compute = 0.0
        batches = (count + config.batch_size - 1) // config.batch_size
        for batch in range(batches):
            rows = order[batch * config.batch_size:(batch + 1) * config.batch_size]
            x, y = train_x[rows], train_y[rows]
            step_clock = cc.Stopwatch()
            loss, logits = train_step(model, optimizer, x, y)
            if device.type == "cuda":
                torch.cuda.synchronize()
            epoch_compute += step_clock.seconds()
            loss_sum += loss * rows.shape[0]
            correct += count_correct(logits, y)
            if (batch + 1) % config.log_every == 0 or batch + 1 == batches:
                value = loss.item()  # a log point: read one number
                if not math.isfinite(value):
                    kind = "NaN" if math.isnan(value) else "infinite"
                    raise SystemExit(f"error: loss became {kind} at epoch {epoch}; "
                                     f"lower --lr (now {learning_rate:g}) and run again")
        train_loss, train_accuracy = loss_sum.item() / count, correct.item() / count
        test_loss, test_accuracy = evaluate(model, test_x, test_y, config.eval_batch_size)
        seconds = epoch_clock.seconds()
        print(f"epoch {epoch}/{args.epochs} lr {learning_rate:.5f} train_loss {train_loss:.4f} "
              f"train_acc {train_accuracy:.4f} test_loss {test_loss:.4f} "
              f"test_acc {test_accuracy:.4f} time {seconds:.2f}s", flush=True)
        total_seconds += seconds
        compute_seconds += epoch_compute

    epoch_time = total_seconds / args.epochs
    cc.result_line(lesson=LESSON, epochs=args.epochs, epoch_time_s=epoch_time,
                   train_samples_per_s=count / epoch_time, test_acc=test_accuracy,
                   outside_share=1.0 - compute_seconds / total_seconds)


if __name__ == "__main__":
    main()
