#!/usr/bin/env python3
"""17_custom_op in Python PyTorch: the same operator, silu(a) * b, defined with torch.library in
Python (course_py::swiglu, with register_fake and register_autograd), and the same five sections
as main.cpp printing the same lines. With --check-library it loads the C++ operator instead, the
shared library course_ops17 that the build made, and checks it from Python.

    python lessons/17_custom_op/reference.py --threads 2
    python lessons/17_custom_op/reference.py --smoke
    python lessons/17_custom_op/reference.py --golden          # write golden.json
    python lessons/17_custom_op/reference.py --check-library build/release/lib/libcourse_ops17.so
        (torch.ops.load_library, then torch.ops.course.swiglu against silu(a) * b on edge-case
        shapes, torch.autograd.gradcheck in float64, its refusals, and training: ctest runs it)
    python lessons/17_custom_op/reference.py --check-stable build/release/lib/libcourse_ops17_stable.so
        (the stable-ABI build: forward, a backward registered from Python, no C++ symbols)
"""
import pathlib
import sys
import time

import torch
import torch.nn.functional as F

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "common" / "python"))
sys.path.insert(0, str(ROOT / "tests" / "support"))
import course_common  # noqa: E402

LESSON = "17_custom_op"


# ==== The operator, defined in Python: torch.library is TORCH_LIBRARY's Python side ============
# custom_op = m.def (the schema comes from the type hints) + one kernel for every device; the
# function body is the kernel (here the composed ops: a real one would call Triton or C++).
@torch.library.custom_op("course_py::swiglu", mutates_args=())
def swiglu_py(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return F.silu(a) * b


@swiglu_py.register_fake  # the shape of the output without computing it: for torch.compile
def _(a, b):
    return torch.empty_like(a)


def setup_context(ctx, inputs, output):  # SwiGLUFunction::forward's ctx->save_for_backward
    ctx.save_for_backward(*inputs)


def swiglu_backward(ctx, grad):  # SwiGLUFunction::backward, the same formulas
    a, b = ctx.saved_tensors
    s = torch.sigmoid(a)
    return grad * b * s * (1 + a * (1 - s)), grad * a * s


swiglu_py.register_autograd(swiglu_backward, setup_context=setup_context)


def swiglu_composed(a, b):
    return F.silu(a) * b


# ==== The pieces of main.cpp =====================================================================
def check_gradients(op, a, b, weights, step):
    """Largest |autograd - central difference| for d/da and d/db of sum(op(a, b) * weights)."""
    def f(x, y):
        return (op(x, y) * weights).sum()

    x, y = a.clone().requires_grad_(), b.clone().requires_grad_()
    f(x, y).backward()

    def numeric(g, t):
        out = torch.zeros_like(t)
        for i in range(t.numel()):
            plus, minus = t.clone(), t.clone()
            plus.view(-1)[i] += step
            minus.view(-1)[i] -= step
            out.view(-1)[i] = (g(plus).item() - g(minus).item()) / (2 * step)
        return out

    numeric_a = numeric(lambda t: f(t, b), a)
    numeric_b = numeric(lambda t: f(a, t), b)
    return (x.grad - numeric_a).abs().max().item(), (y.grad - numeric_b).abs().max().item()


def median_seconds(fn, repeats, device):
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return sorted(times)[repeats // 2]


def measure_speed(op, n, repeats, device):
    a, b = torch.randn(n, device=device), torch.randn(n, device=device)
    with torch.no_grad():
        composed = median_seconds(lambda: swiglu_composed(a, b), repeats, device)
        fused = median_seconds(lambda: op(a, b), repeats, device)
    x, y = a.clone().requires_grad_(), b.clone().requires_grad_()
    grad = torch.ones_like(a)
    composed_step = median_seconds(
        lambda: torch.autograd.grad(swiglu_composed(x, y), (x, y), grad), repeats, device)
    fused_step = median_seconds(lambda: torch.autograd.grad(op(x, y), (x, y), grad), repeats, device)
    return n, composed, fused, composed_step / fused_step


def print_speed_table(rows):
    print(f"  {'elements':>10} | {'composed ms':>11} {'GB/s':>7} | {'fused ms':>11} {'GB/s':>7} | "
          f"{'speed-up':>8} | {'fwd+bwd':>10}")
    for n, composed, fused, step in rows:
        print(f"  {n:>10} | {composed * 1e3:>11.4f} {n * 20 / composed / 1e9:>7.2f} | "
              f"{fused * 1e3:>11.4f} {n * 12 / fused / 1e9:>7.2f} | {composed / fused:>7.2f}x | "
              f"{step:>9.2f}x")


class SwiGLUNet(torch.nn.Module):
    """down(swiglu(gate(x), up(x))): SwiGLUNetImpl of main.cpp."""

    def __init__(self, hidden, op):
        super().__init__()
        self.gate = torch.nn.Linear(1, hidden)
        self.up = torch.nn.Linear(1, hidden)
        self.down = torch.nn.Linear(hidden, 1)
        self.op = op

    def forward(self, x):
        return self.down(self.op(self.gate(x), self.up(x)))


def train(net, x, y, steps, lr):
    """(first loss, last loss, seconds): main.cpp's train()."""
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    start = time.perf_counter()
    first = None
    for step in range(steps):
        optimizer.zero_grad()
        loss = F.mse_loss(net(x), y)
        loss.backward()
        optimizer.step()
        if step == 0:
            first = loss.item()
    with torch.no_grad():
        last = F.mse_loss(net(x), y).item()
    return first, last, time.perf_counter() - start


def fixed_net(hidden, op):
    """A network with weights made without a random stream (golden.json's training case)."""
    net = SwiGLUNet(hidden, op)
    with torch.no_grad():
        k = torch.arange(hidden, dtype=torch.float32)
        net.gate.weight.copy_(torch.sin(k + 1).unsqueeze(1))
        net.gate.bias.copy_(0.3 * torch.cos(k))
        net.up.weight.copy_(torch.cos(2 * k + 1).unsqueeze(1))
        net.up.bias.copy_(0.2 * torch.sin(3 * k))
        net.down.weight.copy_(0.4 * torch.sin(5 * k + 2).unsqueeze(0))
        net.down.bias.fill_(0.1)
    return net


def sin_data(points, device="cpu"):
    x = torch.linspace(-3, 3, points, device=device).unsqueeze(1)  # (N, 1)
    return x, torch.sin(2 * x)


def golden():
    import golden as golden_file

    a = torch.linspace(-4, 4, 8)
    b = torch.cos(torch.arange(8.0))
    ga = torch.linspace(-3, 3, 12, dtype=torch.float64).reshape(3, 4)
    gb = torch.sin(torch.arange(12, dtype=torch.float64)).reshape(3, 4)
    x, y = ga.clone().requires_grad_(), gb.clone().requires_grad_()
    (swiglu_composed(x, y) * torch.cos(ga)).sum().backward()
    net = fixed_net(8, swiglu_composed)
    state = {k: v.detach().clone() for k, v in net.state_dict().items()}
    px, py = sin_data(64)
    first, last, _ = train(net, px, py, steps=5, lr=1e-2)
    golden_file.write(LESSON, {
        "forward": {"inputs": {"a": a, "b": b}, "outputs": {"out": swiglu_composed(a, b)}},
        "gradients": {"inputs": {"a": ga, "b": gb, "weights": torch.cos(ga)},
                      "outputs": {"grad_a": x.grad, "grad_b": y.grad}},
        "training": {"inputs": {**state, "x": px, "y": py, "steps": 5, "lr": 1e-2},
                     "outputs": {"first_loss": first, "last_loss": last}},
    })


# ==== --check-library: the C++ operator, loaded into Python =====================================
def check_library(path, threads):
    if threads > 0:
        torch.set_num_threads(threads)
    torch.ops.load_library(path)  # runs the library's TORCH_LIBRARY blocks: course::swiglu exists
    op = torch.ops.course.swiglu
    print(f"check-library: loaded {path}: {op.default._schema}")
    torch.manual_seed(17)
    cases = {
        "empty": torch.randn(0), "one": torch.randn(1), "odd 7": torch.randn(7),
        "odd 1000003": torch.randn(1000003), "3x5x17": torch.randn(3, 5, 17),
        "transposed": torch.randn(33, 65).t(), "every other": torch.randn(2, 101)[:, ::2],
    }
    for name, a in cases.items():
        for dtype in (torch.float32, torch.float64):
            x = a.to(dtype)
            y = torch.randn(x.shape, dtype=dtype)
            torch.testing.assert_close(op(x, y), swiglu_composed(x, y), msg=f"forward, {name}")
    print(f"check-library: forward equals F.silu(a) * b on {len(cases)} shapes, float32 and float64")

    a = torch.randn(4, 9, dtype=torch.float64, requires_grad=True)
    b = torch.randn(4, 9, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(op, (a, b)), "gradcheck failed"
    nc = torch.randn(9, 4, dtype=torch.float64).t().requires_grad_()
    assert torch.autograd.gradcheck(op, (nc, b)), "gradcheck failed on a transposed input"
    print("check-library: torch.autograd.gradcheck passes in float64 (contiguous and transposed)")

    for what, args, words in [
        ("int64", (torch.arange(4), torch.arange(4)), "float32 or float64"),
        ("shapes", (torch.randn(4), torch.randn(3)), "same shape"),
        ("float16", (torch.randn(4).half(), torch.randn(4).half()), "float32 or float64"),
    ]:
        try:
            op(*args)
            raise SystemExit(f"check-library: {what} was accepted")
        except RuntimeError as error:
            assert words in str(error), f"{what}: {error}"
    print("check-library: int64, float16 and mismatched shapes are refused with a message")

    x, y = sin_data(64)
    first_c, last_c, _ = train(fixed_net(8, op), x, y, steps=20, lr=1e-2)
    first_p, last_p, _ = train(fixed_net(8, swiglu_composed), x, y, steps=20, lr=1e-2)
    assert abs(first_c - first_p) < 1e-5 and abs(last_c - last_p) < 1e-5, (last_c, last_p)
    assert last_c < first_c
    print(f"check-library: 20 training steps: loss {first_c:.5f} -> {last_c:.5f} "
          f"(composed {last_p:.5f})")
    print("check-library: forward, gradcheck and training match: OK")


# ==== --check-stable: the stable-ABI build of the forward ========================================
def libtorch_cpp_symbols(path):
    """The C++ functions of LibTorch (c10::, at::, torch:: mangled names) that a library needs."""
    import subprocess
    names = subprocess.run(["nm", "-D", "--undefined-only", path], check=True, text=True,
                           capture_output=True).stdout.split()
    return [n for n in names if n.startswith(("_ZN3c10", "_ZN2at", "_ZN5torch", "_ZNK3c10",
                                              "_ZNK2at", "_ZNK5torch"))]


def check_stable(path, threads):
    if threads > 0:
        torch.set_num_threads(threads)
    torch.ops.load_library(path)
    op = torch.ops.course_stable.swiglu
    print(f"check-stable: loaded {path}: {op.default._schema}")
    torch.manual_seed(17)
    for shape in [(0,), (1,), (7,), (1000003,), (3, 5, 17)]:
        a, b = 4 * torch.randn(shape), torch.randn(shape)
        torch.testing.assert_close(op(a, b), swiglu_composed(a, b))
    a = torch.randn(33, 65).t()
    torch.testing.assert_close(op(a, a.cos()), swiglu_composed(a, a.cos()))
    try:
        op(torch.randn(4, dtype=torch.float64), torch.randn(4, dtype=torch.float64))
        raise SystemExit("check-stable: float64 was accepted")
    except RuntimeError as error:
        assert "float32 only" in str(error), error
    print("check-stable: forward equals F.silu(a) * b on 6 shapes; float64 refused with a message")

    # Autograd for an operator defined in C++, added from Python: the same backward as above.
    torch.library.register_autograd("course_stable::swiglu", swiglu_backward,
                                    setup_context=setup_context)
    x = torch.randn(5, 9, requires_grad=True)
    y = torch.randn(5, 9, requires_grad=True)
    op(x, y).sum().backward()
    x2, y2 = x.detach().requires_grad_(), y.detach().requires_grad_()
    swiglu_composed(x2, y2).sum().backward()
    torch.testing.assert_close((x.grad, y.grad), (x2.grad, y2.grad))
    print("check-stable: gradients through torch.library.register_autograd equal the composed ones")

    stable, full = libtorch_cpp_symbols(path), None
    sibling = pathlib.Path(path).with_name(pathlib.Path(path).name.replace("_stable", ""))
    if sibling.is_file():
        full = len(libtorch_cpp_symbols(str(sibling)))
    assert not stable, f"the stable library needs C++ symbols of LibTorch: {stable[:5]}"
    print(f"check-stable: LibTorch C++ symbols needed: {len(stable)} "
          f"(course_ops17 needs {full if full is not None else '?'})")
    print("check-stable: forward, autograd from Python and a C-only interface: OK")


def main():
    p = course_common.parser("A fused SwiGLU operator: dispatcher, CPU, CUDA, autograd")
    p.add_argument("--sizes", type=int, nargs="+", default=[1 << 12, 1 << 16, 1 << 20, 1 << 23])
    p.add_argument("--repeats", type=int, default=31)
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-2)
    p.add_argument("--check-library", default="", metavar="SO")
    p.add_argument("--check-stable", default="", metavar="SO")
    args = p.parse_args()
    if args.golden:
        return golden()
    if args.check_library:
        return check_library(args.check_library, args.threads)
    if args.check_stable:
        return check_stable(args.check_stable, args.threads)
    if args.smoke:
        args.sizes, args.repeats, args.steps = [1 << 12, 1 << 16, 1 << 20], 5, 60
    device, _ = course_common.begin(args, LESSON)
    op = swiglu_py

    print("\n-- 1. course_py::swiglu(a, b) = silu(a) * b through torch.library")
    print(f"  schema: {op._opoverload._schema}")
    a = torch.linspace(-4, 4, 8, device=device)
    b = torch.cos(torch.arange(8, device=device))
    fused = op(a, b)

    def fmt(t):
        return "[" + ", ".join(f"{v:7.4f}" for v in t.tolist()) + "]"
    print(f"  a                      {fmt(a)}")
    print(f"  b                      {fmt(b)}")
    print(f"  course_py::swiglu(a, b) {fmt(fused)}")
    print(f"  F.silu(a) * b          {fmt(swiglu_composed(a, b))}")
    print(f"  largest difference     {(fused - swiglu_composed(a, b)).abs().max().item():.2g}")

    print("\n-- 2. What it refuses, and the message it gives")
    for what, args_ in (("int64", (a.long(), b.long())), ("shapes", (a, b[:4]))):
        try:
            op(*args_)
            print(f"  {what}: accepted?!")
        except RuntimeError as error:
            print(f"  {what}: {str(error).splitlines()[0]}")

    print("\n-- 3. Gradients in float64: autograd against central differences")
    ga = torch.linspace(-3, 3, 12, dtype=torch.float64, device=device).reshape(3, 4)
    gb = torch.sin(torch.arange(12, dtype=torch.float64, device=device)).reshape(3, 4)
    err_a, err_b = check_gradients(op, ga, gb, torch.cos(ga), 1e-6)
    print(f"  largest |autograd - numeric|: d/da {err_a:.1e}, d/db {err_b:.1e}")

    print(f"\n-- 4. Speed on {device} (float32, median of {args.repeats} calls; "
          "GB/s = bytes moved / time)")
    print("  (course_py::swiglu calls the composed ops: Python's custom_op adds only its overhead)")
    rows = [measure_speed(op, n, args.repeats, device) for n in args.sizes]
    print_speed_table(rows)

    print("\n-- 5. Training a SwiGLU network on sin(2x), fused and composed, same start")
    x, y = sin_data(512, device)
    results = []
    for name, fn in (("fused", op), ("composed", swiglu_composed)):
        torch.manual_seed(args.seed)
        net = SwiGLUNet(args.hidden, fn).to(device)
        first, last, seconds = train(net, x, y, args.steps, args.lr)
        print(f"  {name:<8} loss {first:.4f} -> {last:.5f} in {args.steps} steps, {seconds:.2f} s")
        results.append(last)
    course_common.result_line(LESSON, final_loss=results[0], speed_up=rows[-1][1] / rows[-1][2])


if __name__ == "__main__":
    main()
