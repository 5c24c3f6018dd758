"""04_linear_regression in Python PyTorch: fit a line and a cubic by hand, with nn.Linear +
optim.SGD, and exactly with least squares, as main.cpp does, with the same flags and lines.

    python lessons/04_linear_regression/reference.py            # the story, as main.cpp tells it
    python lessons/04_linear_regression/reference.py --golden   # writes lessons/04_linear_regression/golden.json

With the same --seed, this script makes the same points and the same nn.Linear start as the C++
binary (both use the default CPU generator in the same order), so the printed numbers agree.
The golden is made without any random stream: x = linspace, the "noise" is a sine.
"""
import math
import pathlib
import sys

import torch
from torch import nn

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "common" / "python"))
sys.path.insert(0, str(ROOT / "tests" / "support"))
import course_common  # noqa: E402

LESSON = "04_linear_regression"


# ---- configuration (main.cpp: struct Config) ----
TRAIN_POINTS, SMOKE_TRAIN_POINTS, TEST_POINTS = 200, 64, 100
NOISE, LR, DEGREE, EPOCHS = 0.15, 0.5, 3, 1000


# ---- data ----
def true_coefficients():
    return torch.tensor([1.0, -0.5, -1.5, 2.0])


def evaluate_polynomial(coefficients, x):
    """c0 + c1 x + ... + cD x^D by Horner's rule, the same order of operations as the C++."""
    y = torch.zeros_like(x) + coefficients[-1]
    for k in range(coefficients.shape[0] - 2, -1, -1):
        y = y * x + coefficients[k]
    return y


def make_points(n, noise, device):
    x = torch.rand(n) * 2 - 1                                            # (N), uniform in [-1, 1)
    y = evaluate_polynomial(true_coefficients(), x) + noise * torch.randn(n)  # (N)
    return x.to(device), y.to(device)


def polynomial_features(x, degree):
    """(N) -> (N, D): x, x^2, ..., x^D."""
    return torch.stack([x.pow(k) for k in range(1, degree + 1)], dim=1)


def mse(prediction, target):
    return (prediction - target).pow(2).mean()


def log_step(name, step, steps, loss):
    """Steps 1, 10, 100, ... and the last one print a line and check for NaN."""
    if step != steps and 10 ** round(math.log10(step)) != step:
        return
    value = loss.item()
    if not math.isfinite(value):
        raise SystemExit(f"error: loss became {value} at step {step} of '{name}'; lower --lr "
                         "(a step too large overshoots)")
    print(f"{name:<28} step {step:>5}/{steps} | train mse {value:.5f}", flush=True)


# ---- way 1: by hand ----
def fit_by_hand(weight, bias, features, y, lr, steps, name):
    losses = []
    for step in range(1, steps + 1):
        loss = mse(features @ weight + bias, y)   # (N, D) @ (D) -> (N), then ()
        loss.backward()
        with torch.no_grad():                     # C++: torch::NoGradGuard no_grad;
            weight -= lr * weight.grad
            bias -= lr * bias.grad
            weight.grad.zero_()
            bias.grad.zero_()
        losses.append(loss.detach())
        log_step(name, step, steps, losses[-1])
    return losses


def hand_coefficients(weight, bias):
    return torch.cat([bias.detach().reshape(1), weight.detach()])


# ---- way 2: nn.Linear + optim.SGD ----
def fit_with_optimizer(model, optimizer, features, y, steps, name):
    losses = []
    for step in range(1, steps + 1):
        optimizer.zero_grad()
        loss = mse(model(features).squeeze(1), y)  # (N, 1) -> (N)
        loss.backward()
        optimizer.step()
        losses.append(loss.detach())
        log_step(name, step, steps, losses[-1])
    return losses


def linear_coefficients(model):
    return torch.cat([model.bias.detach(), model.weight.detach().flatten()])


# ---- way 3: the exact answer ----
def closed_form(x, y, degree):
    ones = torch.ones(x.shape[0], 1, dtype=x.dtype, device=x.device)
    design = torch.cat([ones, polynomial_features(x, degree)], dim=1)       # (N, D + 1)
    return torch.linalg.lstsq(design, y.unsqueeze(1)).solution.squeeze(1)  # (D + 1)


def print_row(label, c, exact, train, test):
    shown = "".join(f" {v:8.4f}" for v in c.tolist())
    test_mse = mse(evaluate_polynomial(c, test[0]), test[1]).item()
    print(f"  {label:<14}[{shown} ]  {mse(evaluate_polynomial(c, train[0]), train[1]).item():.5f}"
          f"  {test_mse:.5f}  {(c - exact).abs().max().item():.2e}")
    return test_mse


def main(args):
    device, out = course_common.begin(args, LESSON)
    train_points = SMOKE_TRAIN_POINTS if args.smoke else TRAIN_POINTS
    steps = args.epochs
    # ---- 1. data, made on the CPU from --seed ----
    train = make_points(train_points, NOISE, device)
    test = make_points(TEST_POINTS, NOISE, device)
    print(f"data: {train_points} train + {TEST_POINTS} test points of "
          f"y = 1 - 0.5 x - 1.5 x^2 + 2 x^3 + noise (std {NOISE}), x in [-1, 1)")
    seconds = final_mse = 0.0
    for degree in (1, args.degree):
        print(f"\n---- degree {degree}: {degree + 1} parameters ----")
        features = polynomial_features(train[0], degree)
        # ---- 2. the exact answer ----
        exact = closed_form(*train, degree)
        # ---- 3. by hand ----
        clock = course_common.Stopwatch()
        weight = torch.zeros(degree, device=device, requires_grad=True)
        bias = torch.zeros((), device=device, requires_grad=True)
        fit_by_hand(weight, bias, features, train[1], args.lr, steps, f"degree {degree}, by hand")
        # ---- 4. nn.Linear + optim.SGD ----
        linear = nn.Linear(degree, 1).to(device)
        optimizer = torch.optim.SGD(linear.parameters(), lr=args.lr)
        fit_with_optimizer(linear, optimizer, features, train[1], steps,
                           f"degree {degree}, nn::Linear + SGD")
        if device.type == "cuda":
            torch.cuda.synchronize()
        seconds += clock.seconds()
        # ---- 5. compare ----
        with torch.no_grad():
            print(f"coefficients c0..c{degree}        train mse  test mse  max |c - exact|")
            print_row("closed form", exact, exact, train, test)
            print_row("by hand", hand_coefficients(weight, bias), exact, train, test)
            final_mse = print_row("nn + SGD", linear_coefficients(linear), exact, train, test)
    # (the C++ side also draws fits.png and losses.png here, and says so)
    total_steps = 4 * steps
    course_common.result_line(LESSON, epochs=steps, epoch_time_s=seconds / total_steps,
                              train_samples_per_s=train_points * total_steps / seconds,
                              final_mse=final_mse)


# ---- the golden: inputs without a random stream, outputs from the functions above ----
def golden():
    import golden as golden_file

    torch.set_num_threads(1)  # one thread: the same sums in the same order on every machine
    x = torch.linspace(-1, 1, 41)
    y = evaluate_polynomial(true_coefficients(), x) + 0.1 * torch.sin(13 * x)  # a fixed wiggle
    features = polynomial_features(x, 3)
    weight0 = torch.tensor([0.25, -0.125, 0.5])        # multiples of 1/8: exact in float32
    bias0 = torch.tensor(0.0625)
    lr, few, many = 0.5, 3, 1000

    weight, bias = weight0.clone().requires_grad_(), bias0.clone().requires_grad_()
    hand_losses = fit_by_hand(weight, bias, features, y, lr, few, "golden")

    linear = nn.Linear(3, 1)
    with torch.no_grad():
        linear.weight.copy_(weight0.reshape(1, 3))
        linear.bias.copy_(bias0.reshape(1))
    optimizer = torch.optim.SGD(linear.parameters(), lr=lr)
    sgd_losses = fit_with_optimizer(linear, optimizer, features, y, few, "golden")

    w = torch.zeros(3, requires_grad=True)
    b = torch.zeros((), requires_grad=True)
    long_losses = fit_by_hand(w, b, features, y, lr, many, "golden")

    probe = torch.tensor([-1.0, -0.5, 0.0, 0.5, 2.0])
    cases = {
        "features": {
            "inputs": {"x": probe},
            "outputs": {"features3": polynomial_features(probe, 3),
                        "true_curve": evaluate_polynomial(true_coefficients(), probe)}},
        "hand": {
            "inputs": {"x": x, "y": y, "weight": weight0, "bias": bias0, "lr": lr, "steps": few},
            "outputs": {"losses": torch.stack(hand_losses), "weight": weight.detach(),
                        "bias": bias.detach()}},
        "sgd": {
            "inputs": {"x": x, "y": y, "weight": weight0.reshape(1, 3),
                       "bias": bias0.reshape(1), "lr": lr, "steps": few},
            "outputs": {"losses": torch.stack(sgd_losses), "weight": linear.weight.detach(),
                        "bias": linear.bias.detach()}},
        "closed_form": {
            "inputs": {"x": x, "y": y},
            # in float64, then rounded: the exact answer, free of float32 rounding in lstsq
            "outputs": {"degree1": closed_form(x.double(), y.double(), 1).float(),
                        "degree3": closed_form(x.double(), y.double(), 3).float()}},
        "gradient_descent": {
            "inputs": {"x": x, "y": y, "lr": lr, "steps": many},
            "outputs": {"coefficients": hand_coefficients(w, b),
                        "last_loss": long_losses[-1].item()}},
    }
    golden_file.write(LESSON, cases)


if __name__ == "__main__":
    parser = course_common.parser("Fit a line and a cubic: by hand, with nn.Linear + SGD, and "
                                  "exactly", epochs=EPOCHS)
    parser.add_argument("--lr", type=float, default=LR)
    parser.add_argument("--degree", type=int, default=DEGREE)
    arguments = parser.parse_args()
    if not 1e-6 <= arguments.lr <= 10 or not 2 <= arguments.degree <= 10 or arguments.epochs < 1:
        parser.error("--lr must be in [1e-6, 10], --degree in [2, 10] and --epochs at least 1")
    if arguments.golden:
        golden()
    else:
        main(arguments)
