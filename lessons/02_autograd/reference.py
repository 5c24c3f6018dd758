"""Lesson 02 in Python PyTorch: the same seven steps as main.cpp, and the golden values.

    python lessons/02_autograd/reference.py            # print the steps, as the C++ lesson does
    python lessons/02_autograd/reference.py --golden   # write tests/golden/02_autograd.json

Every golden input is made from linspace or a fixed list (no random stream), so the C++ tests never
depend on a generator.
"""
import pathlib
import sys

import torch

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "common" / "python"))
sys.path.insert(0, str(ROOT / "tests" / "support"))
import course_common  # noqa: E402


# ------------------------------------------------------------------------------------------------
# The lesson's functions: the Python side of lessons/02_autograd/autograd.h

def cubic(x):
    """f(x) = x^3 - 2x^2 + 3x - 1: f' = 3x^2 - 4x + 3, f'' = 6x - 4, f''' = 6."""
    return x.pow(3) - 2 * x.pow(2) + 3 * x - 1


def naive_softplus(x):
    return torch.log(1 + torch.exp(x))


def make_leaf(x):
    return x.detach().clone().requires_grad_(True)


def gradient(f, x):
    """d f(x) / dx through backward() and .grad: course::autograd::gradient."""
    leaf = make_leaf(x)
    f(leaf).backward()
    return leaf.grad if leaf.grad is not None else torch.zeros_like(leaf)


def derivative(f, x, order=1):
    """The order-th derivative of an elementwise f with torch.autograd.grad(create_graph=True)."""
    leaf = make_leaf(x)
    current = f(leaf)
    for _ in range(order):
        if not current.requires_grad:
            return torch.zeros_like(leaf)
        (grad,) = torch.autograd.grad(current.sum(), leaf, retain_graph=True, create_graph=True,
                                      allow_unused=True)
        current = grad if grad is not None else torch.zeros_like(leaf)
    return current.detach()


def accumulate(x, calls):
    """x.grad after each backward (rows), after zero_(), and after reset + one backward."""
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
    full = gradient(lambda t: (t * t * t).sum(), x)
    detached = gradient(lambda t: ((t * t).detach() * t).sum(), x)
    return full, detached


def line_step(x, y, w, b, lr):
    """One hand-written gradient-descent step: loss, dw, db, then w and b after the step."""
    weight = torch.tensor(w, dtype=x.dtype, requires_grad=True)
    bias = torch.tensor(b, dtype=x.dtype, requires_grad=True)
    loss = (weight * x + bias - y).pow(2).mean()
    loss.backward()
    dw, db = weight.grad.clone(), bias.grad.clone()
    with torch.no_grad():
        weight -= lr * weight.grad
        bias -= lr * bias.grad
    weight.grad.zero_()
    bias.grad.zero_()
    return loss.detach(), dw, db, weight.detach(), bias.detach()


class Softplus(torch.autograd.Function):
    """course::autograd::SoftplusFunction: max(x, 0) + log1p(e^-|x|), backward = sigmoid(x)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.clamp_min(x, 0) + torch.log1p(torch.exp(-x.abs()))

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * torch.sigmoid(x)


def softplus(x):
    return Softplus.apply(x)


def numeric_jacobian(f, x, eps=1e-6):
    """Central differences in float64: course::autograd::numeric_jacobian. Shape (M, N)."""
    with torch.no_grad():
        x64 = x.detach().to(torch.float64).contiguous()
        columns = []
        for j in range(x64.numel()):
            plus, minus = x64.clone(), x64.clone()
            plus.view(-1)[j] += eps
            minus.view(-1)[j] -= eps
            columns.append((f(plus) - f(minus)).to(torch.float64).reshape(-1) / (2 * eps))
        return torch.stack(columns, dim=1)


def jacobian_example(x):
    """A function whose Jacobian is not diagonal: y_i = sin(x_1 + ... + x_i) * x_i."""
    return torch.sin(torch.cumsum(x, dim=0)) * x


# ------------------------------------------------------------------------------------------------
# Golden inputs: the same in the C++ test (it reads them back from the JSON).

POLY_X = torch.linspace(-2, 2, 9, dtype=torch.float64)
TANH_X = torch.linspace(-3, 3, 13, dtype=torch.float64)
SOFTPLUS_X = torch.tensor([-50, -20, -5, -1, -0.5, 0, 0.5, 1, 5, 20, 50, 100], dtype=torch.float32)
ACCUMULATE_X = torch.tensor([-1.0, 0.5, 2.0])
DETACH_X = torch.tensor([1.0, 2.0, 3.0])
LINE_X = torch.linspace(0, 1, 8)
LINE_Y = 2 * LINE_X + 1 + 0.1 * torch.sin(7 * LINE_X)
JACOBIAN_X = torch.linspace(-1, 1, 4, dtype=torch.float64)
GRADCHECK_X = torch.linspace(-5, 5, 11, dtype=torch.float64)


def golden_cases():
    rows, after_zero, defined_after_reset, after_reset = accumulate(ACCUMULATE_X, calls=3)
    full, detached = detach_grads(DETACH_X)
    loss, dw, db, w, b = line_step(LINE_X, LINE_Y, w=0.5, b=0.0, lr=0.1)
    return {
        "polynomial": {
            "inputs": {"x": POLY_X},
            "outputs": {"value": cubic(POLY_X),
                        "first": derivative(cubic, POLY_X, 1),
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
            "outputs": {"value": softplus(SOFTPLUS_X),
                        "first": gradient(lambda t: softplus(t).sum(), SOFTPLUS_X),
                        "second": derivative(softplus, SOFTPLUS_X, 2)},
        },
        "accumulation": {
            "inputs": {"x": ACCUMULATE_X, "calls": 3},
            "outputs": {"after_each": rows, "after_zero": after_zero,
                        "defined_after_reset": int(defined_after_reset),
                        "after_reset_and_backward": after_reset,
                        "backward_twice_retained": backward_twice(ACCUMULATE_X, True)},
        },
        "detach": {
            "inputs": {"x": DETACH_X},
            "outputs": {"full": full, "detached": detached},
        },
        "line_step": {
            "inputs": {"x": LINE_X, "y": LINE_Y, "w": 0.5, "b": 0.0, "lr": 0.1},
            "outputs": {"loss": loss, "dw": dw, "db": db, "w": w, "b": b},
        },
        "jacobian": {
            "inputs": {"x": JACOBIAN_X},
            "outputs": {
                "autograd": torch.autograd.functional.jacobian(jacobian_example, JACOBIAN_X),
                "numeric": numeric_jacobian(jacobian_example, JACOBIAN_X),
            },
        },
    }


# ------------------------------------------------------------------------------------------------
# The story, step by step (the same steps as main.cpp)

def show(t):
    return "[" + ", ".join(f"{v:.4g}" for v in t.flatten().tolist()) + "]"


def main():
    args = course_common.parser("Lesson 02: autograd").parse_args()
    if args.golden:
        import golden
        golden.write("02_autograd", golden_cases())
        return
    course_common.begin(args, "02_autograd")

    print("-- 1. requires_grad, backward, .grad")
    x = torch.tensor(2.0, requires_grad=True)
    y = cubic(x)
    y.backward()
    print(f"f(x) = x^3 - 2x^2 + 3x - 1 at x = 2: f = {y.item():.4g}, x.grad = {x.grad.item():.4g}")

    print("-- 2. gradients accumulate")
    rows, after_zero, defined_after_reset, after_reset = accumulate(torch.tensor([2.0]), 3)
    print(f"after each backward: {show(rows)}; after zero_: {show(after_zero)}; "
          f"after x.grad = None: defined = {defined_after_reset}; then {show(after_reset)}")

    print("-- 3. retain_graph")
    try:
        backward_twice(torch.tensor([2.0]), retain_graph=False)
    except RuntimeError as error:
        print(f"without retain_graph: {str(error).splitlines()[0][:70]}...")
    print(f"with retain_graph=True: x.grad = {show(backward_twice(torch.tensor([2.0]), True))}")

    print("-- 4. detach")
    full, detached = detach_grads(DETACH_X)
    print(f"x = {show(DETACH_X)}: d/dx sum(x^3) = {show(full)}, "
          f"with (x*x).detach(): {show(detached)}")

    print("-- 5. no_grad and inference_mode")
    w = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    with torch.no_grad():
        y_no_grad = w * 2
    with torch.inference_mode():
        y_inference = w * 2
    print(f"no_grad:        requires_grad={y_no_grad.requires_grad} "
          f"is_inference={y_no_grad.is_inference()}")
    print(f"inference_mode: requires_grad={y_inference.requires_grad} "
          f"is_inference={y_inference.is_inference()}")
    loss, dw, db, w, b = line_step(LINE_X, LINE_Y, w=0.5, b=0.0, lr=0.1)
    print(f"one step: loss {loss.item():.6f} dw {dw.item():.6f} db {db.item():.6f} -> "
          f"w {w.item():.6f} b {b.item():.6f}")

    print("-- 6. torch.autograd.grad and higher derivatives")
    for order in range(1, 5):
        print(f"cubic order {order}: {show(derivative(cubic, POLY_X, order))}")
    t = torch.tanh(TANH_X)
    error1 = (derivative(torch.tanh, TANH_X, 1) - (1 - t * t)).abs().max().item()
    error2 = (derivative(torch.tanh, TANH_X, 2) - (-2 * t * (1 - t * t))).abs().max().item()
    print(f"tanh' max error {error1:.3g}, tanh'' max error {error2:.3g}")

    print("-- 7. a custom autograd.Function")
    print(f"naive:   {show(naive_softplus(SOFTPLUS_X))}")
    print(f"careful: {show(softplus(SOFTPLUS_X))}")
    print(f"grad:    {show(gradient(lambda v: softplus(v).sum(), SOFTPLUS_X))}")
    passed = torch.autograd.gradcheck(Softplus.apply, (make_leaf(GRADCHECK_X),))
    print(f"torch.autograd.gradcheck(Softplus.apply): {passed}")


if __name__ == "__main__":
    main()
