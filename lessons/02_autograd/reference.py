#!/usr/bin/env python3
"""02_autograd in Python PyTorch: the same five steps and printed lines as main.cpp, and the golden
values its test compares with.

    python lessons/02_autograd/reference.py            # print the steps, as the C++ lesson does
    python lessons/02_autograd/reference.py --golden   # write lessons/02_autograd/golden.json

Every golden input is made from linspace or a fixed list (no random stream).
"""
import pathlib
import re
import sys

import torch

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "common" / "python"))
sys.path.insert(0, str(ROOT / "tests" / "support"))
import course_common  # noqa: E402

LESSON = "02_autograd"


# ------------------------------------------------------------------------------------------------
# The lesson's functions, twins of main.cpp's

def cubic(x):
    """f(x) = x^3 - 2x^2 + 3x - 1: f' = 3x^2 - 4x + 3, f'' = 6x - 4, f''' = 6."""
    return x.pow(3) - 2 * x.pow(2) + 3 * x - 1


def naive_softplus(x):
    return torch.log(1 + torch.exp(x))


def make_leaf(x):
    return x.detach().clone().requires_grad_(True)


def gradient(f, x):
    leaf = make_leaf(x)
    f(leaf).backward()
    return leaf.grad


def accumulate(x, calls):
    leaf = make_leaf(x)
    rows = []
    for _ in range(calls):
        cubic(leaf).sum().backward()
        rows.append(leaf.grad.clone())
    leaf.grad.zero_()
    after_zero = leaf.grad.clone()
    leaf.grad = None
    defined_after_reset = leaf.grad is not None
    cubic(leaf).sum().backward()
    return torch.stack(rows), after_zero, defined_after_reset, leaf.grad.clone()


def backward_twice(x, retain_graph):
    leaf = make_leaf(x)
    y = cubic(leaf).sum()
    y.backward(retain_graph=retain_graph)
    y.backward()
    return leaf.grad


def detach_grads(x):
    return gradient(lambda t: (t * t * t).sum(), x), gradient(lambda t: ((t * t).detach() * t).sum(), x)


def made_under_guards(w):
    with torch.no_grad():
        no_grad_y = w * 2
    with torch.inference_mode():
        inference_y = w * 2
    return no_grad_y, inference_y


def error_of(action):
    try:
        action()
    except RuntimeError as error:
        return re.split(r"[.(\n]", str(error))[0].rstrip()
    return ""


def derivative(f, x, order):
    leaf = make_leaf(x)
    current = f(leaf)
    for _ in range(order):
        if not current.requires_grad:
            return torch.zeros_like(leaf)
        (current,) = torch.autograd.grad(current.sum(), leaf, retain_graph=True, create_graph=True,
                                         allow_unused=True)
        if current is None:
            return torch.zeros_like(leaf)
    return current.detach()


class Softplus(torch.autograd.Function):
    """SoftplusFunction: max(x, 0) + log1p(e^-|x|), backward = grad_output * sigmoid(x)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.clamp_min(x, 0) + torch.log1p(torch.exp(-x.abs()))

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * torch.sigmoid(x)


def stable_softplus(x):
    return Softplus.apply(x)


def numeric_gradient(f, x, eps):
    """Central differences in float64, one input at a time."""
    with torch.no_grad():
        x64 = x.detach().to(torch.float64).contiguous()
        grad = torch.zeros_like(x64)
        for j in range(x64.numel()):
            plus, minus = x64.clone(), x64.clone()
            plus.view(-1)[j] += eps
            minus.view(-1)[j] -= eps
            grad.view(-1)[j] = (f(plus) - f(minus)).item() / (2 * eps)
        return grad


def weighted_softplus_sum(v):
    return (stable_softplus(v) * torch.linspace(1, 2, v.numel(), dtype=v.dtype)).sum()


def max_error(a, b):
    return (a - b).abs().max().item()


def show(t):
    return "[" + ", ".join(f"{v:.4g}" for v in t.detach().double().flatten().tolist()) + "]"


# ------------------------------------------------------------------------------------------------
# Golden cases: the inputs main.cpp prints, and a few more

POLY_X = torch.linspace(-2, 2, 9, dtype=torch.float64)
TANH_X = torch.linspace(-3, 3, 13, dtype=torch.float64)
SOFTPLUS_X = torch.tensor([-20.0, -1.0, 0.0, 1.0, 20.0, 100.0])  # float32, as main.cpp prints
ACCUMULATE_X = torch.tensor([-1.0, 0.5, 2.0])
DETACH_X = torch.tensor([1.0, 2.0, 3.0])
CHECK_X = torch.linspace(-5, 5, 11, dtype=torch.float64)
NUMERIC_X = torch.linspace(-1, 1, 4, dtype=torch.float64)
EPS = 1e-6


def golden_cases():
    rows, after_zero, defined_after_reset, after_reset = accumulate(ACCUMULATE_X, calls=3)
    full, detached = detach_grads(DETACH_X)
    finite = SOFTPLUS_X[:-1]  # golden.json holds no inf or NaN: the test checks x = 100 itself
    cumulative = lambda x: (torch.sin(torch.cumsum(x, 0)) * x).sum()  # noqa: E731
    return {
        "polynomial": {
            "inputs": {"x": POLY_X},
            "outputs": {"value": cubic(POLY_X), "first": derivative(cubic, POLY_X, 1),
                        "second": derivative(cubic, POLY_X, 2),
                        "third": derivative(cubic, POLY_X, 3),
                        "fourth": derivative(cubic, POLY_X, 4)},
        },
        "tanh": {
            "inputs": {"x": TANH_X},
            "outputs": {"first": derivative(torch.tanh, TANH_X, 1),
                        "second": derivative(torch.tanh, TANH_X, 2),
                        "third": derivative(torch.tanh, TANH_X, 3)},
        },
        "softplus": {
            "inputs": {"x": SOFTPLUS_X},
            "outputs": {"value": stable_softplus(SOFTPLUS_X),
                        "first": gradient(lambda t: stable_softplus(t).sum(), SOFTPLUS_X),
                        "second": derivative(stable_softplus, SOFTPLUS_X, 2),
                        "naive_value": naive_softplus(finite),
                        "naive_first": gradient(lambda t: naive_softplus(t).sum(), finite)},
        },
        "accumulation": {
            "inputs": {"x": ACCUMULATE_X, "calls": 3},
            "outputs": {"after_each": rows, "after_zero": after_zero,
                        "defined_after_reset": int(defined_after_reset),
                        "after_reset_and_backward": after_reset,
                        "backward_twice_retained": backward_twice(ACCUMULATE_X, True)},
        },
        "detach": {"inputs": {"x": DETACH_X}, "outputs": {"full": full, "detached": detached}},
        "gradient_check": {
            "inputs": {"x": CHECK_X, "eps": EPS},
            "outputs": {"autograd": gradient(weighted_softplus_sum, CHECK_X),
                        "numeric": numeric_gradient(weighted_softplus_sum, CHECK_X, EPS)},
        },
        "numeric": {
            "inputs": {"x": NUMERIC_X, "eps": EPS},
            "outputs": {"autograd": gradient(cumulative, NUMERIC_X),
                        "numeric": numeric_gradient(cumulative, NUMERIC_X, EPS)},
        },
    }


# ------------------------------------------------------------------------------------------------
# The story, step by step (the same lines as main.cpp)

def main():
    parser = course_common.parser("Autograd: gradients, higher derivatives, custom Functions")
    parser.add_argument("--point", type=float, default=2.0)
    parser.add_argument("--eps", type=float, default=EPS)
    args = parser.parse_args()
    if not -100 <= args.point <= 100 or not 1e-9 <= args.eps <= 1e-2:
        parser.error("--point must be in [-100, 100], --eps in [1e-9, 1e-2]")
    if args.golden:
        import golden
        golden.write(LESSON, golden_cases())
        return
    course_common.begin(args, LESSON)
    p = args.point

    print("\n-- 1. requires_grad, backward(), .grad, detach()")
    x = torch.tensor(p, requires_grad=True)
    y = cubic(x)
    y.backward()
    print(f"f(x) = x^3 - 2x^2 + 3x - 1 at x = {p:g}: f = {y.item():.4g}, x.grad() = "
          f"{x.grad.item():.4g}")
    print(f"by hand: 3x^2 - 4x + 3 = {3 * p * p - 4 * p + 3:.4g}; y.grad_fn: "
          f"{type(y.grad_fn).__name__}, x.is_leaf: {str(x.is_leaf).lower()}")
    full, detached = detach_grads(DETACH_X)
    print(f"x = {show(DETACH_X)}: d/dx sum(x*x*x) = {show(full)}, "
          f"d/dx sum((x*x).detach() * x) = {show(detached)}")

    print("\n-- 2. gradients accumulate: zero_() and reset(); retain_graph")
    point = torch.tensor([p])
    rows, after_zero, defined_after_reset, after_reset = accumulate(point, 3)
    print(f"x.grad after 3 backward() calls: {show(rows)}   (each call ADDS f'(x))")
    print(f"after zero_(): {show(after_zero)}; after reset(): defined = "
          f"{str(defined_after_reset).lower()}; one more backward(): {show(after_reset)}")
    print(f"two backward() on one graph: error: {error_of(lambda: backward_twice(point, False))}")
    print(f"with retain_graph = true: x.grad = {show(backward_twice(point, True))}   (2 f'(x))")

    print("\n-- 3. NoGradGuard versus InferenceMode")
    w = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    for made in made_under_guards(w):
        error = error_of(lambda: (made * w).sum().backward())
        print(f"under {'InferenceMode' if made.is_inference() else 'NoGradGuard'}: requires_grad "
              f"{str(made.requires_grad).lower()}, is_inference {str(made.is_inference()).lower()}, "
              f"usable by autograd later: {'yes' if not error else 'no: ' + error}")
    print(f"w -= 0.1 outside NoGradGuard: error: {error_of(lambda: make_leaf(w).sub_(0.1))}")

    print("\n-- 4. torch::autograd::grad(create_graph = true): higher derivatives")
    print(f"x      = {show(POLY_X)}")
    for order in range(1, 5):
        print(f"f^({order})  = {show(derivative(cubic, POLY_X, order))}")
    t = POLY_X.tanh()
    print(f"tanh' vs 1 - tanh^2: max error {max_error(derivative(torch.tanh, POLY_X, 1), 1 - t * t):.2g}; "
          f"tanh'' vs -2 tanh (1 - tanh^2): "
          f"{max_error(derivative(torch.tanh, POLY_X, 2), -2 * t * (1 - t * t)):.2g}")

    print("\n-- 5. a custom torch::autograd::Function: softplus with its own backward")
    print(f"x                = {show(SOFTPLUS_X)}")
    print(f"log(1 + exp(x))  = {show(naive_softplus(SOFTPLUS_X))}")
    print(f"SoftplusFunction = {show(stable_softplus(SOFTPLUS_X))}")
    print(f"naive gradient   = {show(gradient(lambda v: naive_softplus(v).sum(), SOFTPLUS_X))}")
    print(f"custom backward  = {show(gradient(lambda v: stable_softplus(v).sum(), SOFTPLUS_X))}   "
          "(sigmoid(x))")
    error = max_error(gradient(weighted_softplus_sum, CHECK_X),
                      numeric_gradient(weighted_softplus_sum, CHECK_X, args.eps))
    print(f"backward vs central differences (eps {args.eps:g}): max error {error:.2g}, "
          f"{'passed' if error < 1e-6 else 'FAILED'}")
    s = torch.sigmoid(CHECK_X)
    print("softplus'' vs sigmoid (1 - sigmoid): max error "
          f"{max_error(derivative(stable_softplus, CHECK_X, 2), s * (1 - s)):.2g}")
    passed = torch.autograd.gradcheck(Softplus.apply, (make_leaf(CHECK_X),), eps=args.eps)
    print(f"torch.autograd.gradcheck(Softplus.apply): {passed}  (Python only)")


if __name__ == "__main__":
    main()
