"""Lesson 04 in Python PyTorch: fit a line and a polynomial by hand, with nn.Linear + optim.SGD,
and exactly with least squares, as main.cpp does, so the two can be read side by side.

    python lessons/04_linear_regression/reference.py            # the story, as main.cpp tells it
    python lessons/04_linear_regression/reference.py --golden   # writes tests/golden/04_*.json

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


# ---- data (linear_regression.cpp) ----
def true_coefficients():
    return torch.tensor([1.0, -0.5, -1.5, 2.0])


def evaluate_polynomial(coefficients, x):
    """c0 + c1 x + ... + cD x^D by Horner's rule, the same order of operations as the C++."""
    y = torch.zeros_like(x) + coefficients[-1]
    for k in range(coefficients.shape[0] - 2, -1, -1):
        y = y * x + coefficients[k]
    return y


def true_curve(x):
    return evaluate_polynomial(true_coefficients().to(x.device), x)


def make_points(n, noise):
    x = torch.rand(n) * 2 - 1                      # (N), uniform in [-1, 1)
    y = true_curve(x) + noise * torch.randn(n)     # (N)
    return x, y


def polynomial_features(x, degree):
    """(N) -> (N, D): x, x^2, ..., x^D."""
    return torch.stack([x.pow(k) for k in range(1, degree + 1)], dim=1)


def mse(prediction, target):
    return (prediction - target).pow(2).mean()


# ---- way 1: by hand ----
def make_hand_model(degree, device="cpu"):
    return (torch.zeros(degree, device=device, requires_grad=True),
            torch.zeros((), device=device, requires_grad=True))


def hand_forward(weight, bias, x):
    return polynomial_features(x, weight.shape[0]) @ weight + bias   # (N, D) @ (D) -> (N)


def hand_step(weight, bias, x, y, lr):
    loss = mse(hand_forward(weight, bias, x), y)
    loss.backward()
    with torch.no_grad():                          # C++: torch::NoGradGuard no_grad;
        weight -= lr * weight.grad
        bias -= lr * bias.grad
        weight.grad.zero_()
        bias.grad.zero_()
    return loss.detach()


# ---- way 2: nn.Linear + optim.SGD ----
class PolynomialRegression(nn.Module):
    def __init__(self, degree):
        super().__init__()
        self.degree = degree
        self.linear = nn.Linear(degree, 1)

    def forward(self, x):
        return self.linear(polynomial_features(x, self.degree)).squeeze(1)   # (N, 1) -> (N)


def sgd_step(model, optimizer, x, y):
    optimizer.zero_grad()
    loss = mse(model(x), y)
    loss.backward()
    optimizer.step()
    return loss.detach()


# ---- the exact answer ----
def closed_form(x, y, degree):
    design = torch.cat([torch.ones(x.shape[0], 1, dtype=x.dtype, device=x.device),
                        polynomial_features(x, degree)], dim=1)           # (N, D + 1)
    return torch.linalg.lstsq(design, y.unsqueeze(1)).solution.squeeze(1)  # (D + 1)


def hand_coefficients(weight, bias):
    return torch.cat([bias.detach().reshape(1), weight.detach()])


def model_coefficients(model):
    return torch.cat([model.linear.bias.detach(), model.linear.weight.detach().flatten()])


def is_log_step(step, steps):
    """Steps 1, 10, 100, ... and the last one print a line and check for NaN."""
    return step == steps or 10 ** round(math.log10(step)) == step


# ---- training: one loop for both ways (main.cpp: fit) ----
def fit(name, step, predict, test, steps, lr, device):
    losses, step_seconds = [], 0.0
    wall = course_common.Stopwatch()
    for s in range(1, steps + 1):
        log = is_log_step(s, steps)
        if log:  # on the parameters this step starts from, like the loss the step returns
            with torch.no_grad():
                test_loss = mse(predict(test[0]), test[1]).item()
        clock = course_common.Stopwatch()
        losses.append(step())
        if device.type == "cuda":
            torch.cuda.synchronize()
        step_seconds += clock.seconds()
        if not log:
            continue
        train_loss = losses[-1].item()
        if not math.isfinite(train_loss):
            raise SystemExit(f"error: loss became {train_loss} at step {s} of '{name}'; "
                             f"lower --lr (now {lr})")
        print(f"{name:<28} step {s:>5}/{steps} | train mse {train_loss:.5f} | "
              f"test mse {test_loss:.5f}", flush=True)
    return step_seconds, wall.seconds()


def show(c):
    return "[" + "".join(f" {v:8.4f}" for v in c.tolist()) + " ]"


def main(args):
    device, out = course_common.begin(args, LESSON)
    train_points = SMOKE_TRAIN_POINTS if args.smoke else TRAIN_POINTS
    steps = args.epochs
    # ---- 1. data, made on the CPU from --seed ----
    train_cpu = make_points(train_points, NOISE)
    test_cpu = make_points(TEST_POINTS, NOISE)
    train = tuple(t.to(device) for t in train_cpu)
    test = tuple(t.to(device) for t in test_cpu)
    print(f"data: {train_points} train + {TEST_POINTS} test points of "
          f"y = 1 - 0.5 x - 1.5 x^2 + 2 x^3 + noise (std {NOISE}), x in [-1, 1)")
    step_total = wall_total = final_mse = 0.0
    for degree in (1, args.degree):
        print(f"\n---- degree {degree}: {degree + 1} parameters ----")
        # ---- 2. the exact answer ----
        exact = closed_form(*train, degree)
        # ---- 3. by hand ----
        weight, bias = make_hand_model(degree, device)
        s1, w1 = fit(f"degree {degree}, by hand",
                     lambda: hand_step(weight, bias, *train, args.lr),
                     lambda x: hand_forward(weight, bias, x), test, steps, args.lr, device)
        # ---- 4. nn.Linear + optim.SGD ----
        model = PolynomialRegression(degree).to(device)
        optimizer = torch.optim.SGD(model.parameters(), lr=args.lr)
        s2, w2 = fit(f"degree {degree}, nn::Linear + SGD",
                     lambda: sgd_step(model, optimizer, *train),
                     model, test, steps, args.lr, device)
        step_total += s1 + s2
        wall_total += w1 + w2
        # ---- 5. compare ----
        with torch.no_grad():
            hand_c, sgd_c = hand_coefficients(weight, bias), model_coefficients(model)
            print(f"coefficients c0..c{degree}        train mse  max |c - exact|")
            print(f"  closed form   {show(exact)}  "
                  f"{mse(evaluate_polynomial(exact, train[0]), train[1]).item():.5f}")
            print(f"  by hand       {show(hand_c)}  "
                  f"{mse(hand_forward(weight, bias, train[0]), train[1]).item():.5f}  "
                  f"{(hand_c - exact).abs().max().item():.2e}")
            print(f"  nn + SGD      {show(sgd_c)}  {mse(model(train[0]), train[1]).item():.5f}  "
                  f"{(sgd_c - exact).abs().max().item():.2e}")
            final_mse = mse(model(test[0]), test[1]).item()
            print(f"  test mse of the nn + SGD fit: {final_mse:.5f}")
    total_steps = 4 * steps
    course_common.result_line(lesson=LESSON, epochs=steps, epoch_time_s=wall_total / total_steps,
                              train_samples_per_s=train_points * total_steps / wall_total,
                              final_mse=final_mse, outside_share=1.0 - step_total / wall_total)


# ---- the golden: inputs without a random stream, outputs from the functions above ----
def golden():
    import golden as golden_file

    torch.set_num_threads(1)  # one thread: the same sums in the same order on every machine
    x = torch.linspace(-1, 1, 41)
    y = true_curve(x) + 0.1 * torch.sin(13 * x)       # a fixed wiggle instead of random noise
    weight0 = torch.tensor([0.25, -0.125, 0.5])        # multiples of 1/8: exact in float32
    bias0 = torch.tensor(0.0625)
    lr, steps = 0.5, 1000

    weight, bias = weight0.clone().requires_grad_(), bias0.clone().requires_grad_()
    hand_loss = hand_step(weight, bias, x, y, lr)

    model = PolynomialRegression(3)
    with torch.no_grad():
        model.linear.weight.copy_(weight0.reshape(1, 3))
        model.linear.bias.copy_(bias0.reshape(1))
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    sgd_loss = sgd_step(model, optimizer, x, y)

    w, b = make_hand_model(3)
    for _ in range(steps):
        last = hand_step(w, b, x, y, lr)

    probe = torch.tensor([-1.0, -0.5, 0.0, 0.5, 2.0])
    cases = {
        "features": {
            "inputs": {"x": probe},
            "outputs": {"features3": polynomial_features(probe, 3),
                        "true_curve": true_curve(probe)}},
        "hand_step": {
            "inputs": {"x": x, "y": y, "weight": weight0, "bias": bias0, "lr": lr},
            "outputs": {"loss": hand_loss.item(), "weight": weight.detach(),
                        "bias": bias.detach()}},
        "sgd_step": {
            "inputs": {"x": x, "y": y, "weight": weight0.reshape(1, 3),
                       "bias": bias0.reshape(1), "lr": lr},
            "outputs": {"loss": sgd_loss.item(), "weight": model.linear.weight.detach(),
                        "bias": model.linear.bias.detach()}},
        "closed_form": {
            "inputs": {"x": x, "y": y},
            # in float64, then rounded: the exact answer, free of float32 rounding in lstsq
            "outputs": {"degree1": closed_form(x.double(), y.double(), 1).float(),
                        "degree3": closed_form(x.double(), y.double(), 3).float()}},
        "gradient_descent": {
            "inputs": {"x": x, "y": y, "lr": lr, "steps": steps},
            "outputs": {"coefficients": hand_coefficients(w, b), "last_loss": last.item()}},
    }
    golden_file.write(LESSON, cases)


if __name__ == "__main__":
    parser = course_common.parser("Lesson 04: linear regression three ways", epochs=EPOCHS)
    parser.add_argument("--lr", type=float, default=LR)
    parser.add_argument("--degree", type=int, default=DEGREE, choices=range(2, 11))
    arguments = parser.parse_args()
    if arguments.lr <= 0 or arguments.epochs < 1:
        parser.error("--lr must be positive and --epochs at least 1")
    if arguments.golden:
        golden()
    else:
        main(arguments)
