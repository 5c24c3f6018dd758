"""Lesson 01 in Python PyTorch: the same nine steps as main.cpp, and the golden values.

    python lessons/01_tensors/reference.py            # print the steps, as the C++ lesson does
    python lessons/01_tensors/reference.py --golden   # write tests/golden/01_tensors.json

The golden cases are built only from arange/linspace/sin/fixed lists (no random stream), so the
C++ tests never depend on a generator.
"""
import pathlib
import sys

import torch

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "common" / "python"))
sys.path.insert(0, str(ROOT / "tests" / "support"))
import course_common  # noqa: E402


# ------------------------------------------------------------------------------------------------
# The lesson's functions: the Python side of lessons/01_tensors/tensors.h

def format_values(t, decimals=4):
    """Nested brackets, aligned columns: course::tensors::format_values."""
    t = t.detach().cpu()
    flat = t.flatten().tolist()
    if t.dtype == torch.bool:
        cells = ["true" if v else "false" for v in flat]
    elif t.is_floating_point():
        cells = [f"{v:.{decimals}f}" for v in flat]
    else:
        cells = [str(int(v)) for v in flat]
    width = max((len(c) for c in cells), default=0)
    cells = [c.rjust(width) for c in cells]
    if t.dim() == 0:
        return cells[0]
    if t.numel() == 0:
        return "[]"

    def nested(dim, offset):
        stride = 1
        for size in t.shape[dim + 1:]:
            stride *= size
        if dim + 1 == t.dim():
            return "[" + ", ".join(cells[offset:offset + t.shape[dim]]) + "]"
        gap = "," + "\n" * (t.dim() - dim - 1) + " " * (dim + 1)
        return "[" + gap.join(nested(dim + 1, offset + i * stride) for i in range(t.shape[dim])) + "]"

    return nested(0, 0)


def describe(t):
    return f"{str(t.dtype).replace('torch.', '')} [{', '.join(str(s) for s in t.shape)}]"


def show(label, t):
    values = format_values(t)
    if t.dim() <= 1:
        print(f"  {label} = {values}   {describe(t)}")
    else:
        print(f"  {label}   {describe(t)}\n    " + values.replace("\n", "\n    "))


def dtype_examples(ints, floats):
    return {"truncated": floats.to(torch.int64), "promoted": ints + 0.5, "divided": ints / 2,
            "floor_divided": ints // 2, "as_double": floats.double()}


def indexing_examples(x, threshold):
    edited = x.clone()
    edited[:, 0] = 0
    edited[edited > threshold] = -1
    return {"row": x[1], "column": x[:, 0], "block": x[1:3, ::2], "last": x[..., -1],
            "unsqueezed": x[None], "masked": x[x > threshold], "edited": edited}


def pairwise_distances(a, b):
    return (a[:, None, :] - b[None, :, :]).pow(2).sum(-1).sqrt()


def normalize_rows(x):
    return x / x.norm(p=2, dim=1, keepdim=True).clamp_min(1e-12)


def gradient_image(height, width):
    across = torch.linspace(0, 1, width).reshape(1, width)
    down = torch.linspace(0, 1, height).reshape(height, 1)
    return torch.stack([across.expand(height, width), down.expand(height, width), across * down])


def summarize(x):
    values, indices = x.max(1)
    return {"total": x.sum(), "column_sums": x.sum(0), "row_means": x.mean(1), "row_max": values,
            "row_argmax": indices, "centered": x - x.mean(1, keepdim=True)}


def scale_shift_clamp_(x, scale, shift, low, high):
    return x.mul_(scale).add_(shift).clamp_(low, high)


# ------------------------------------------------------------------------------------------------
# Golden cases

def golden_cases():
    ints = torch.arange(-7, 8)                                   # int64, odd negatives for //
    floats = torch.tensor([-2.5, -1.7, -0.5, 0.0, 0.5, 1.5, 2.5, 3.9])
    int_grid = torch.arange(20).reshape(5, 4)
    float_grid = torch.sin(torch.arange(15.0)).reshape(3, 5)
    points_a = torch.sin(torch.arange(10.0)).reshape(5, 2)
    points_b = torch.cos(torch.arange(6.0) * 0.5).reshape(3, 2)
    rows = torch.sin(torch.arange(12.0)).reshape(4, 3)
    rows[2] = 0                                                  # a zero row must stay zero
    to_reduce = torch.sin(torch.arange(12.0) * 0.7).reshape(3, 4)
    ramp = torch.linspace(-2, 2, 9)
    inplace = {"scale": 1.5, "shift": 0.25, "low": -1.0, "high": 2.0}
    vector = torch.tensor([0.5, -1.25, 3.0, 4.75, -0.125, 6.0])
    return {
        "dtypes": {"inputs": {"ints": ints, "floats": floats},
                   "outputs": dtype_examples(ints, floats)},
        "indexing_int": {"inputs": {"x": int_grid, "threshold": 11},
                         "outputs": indexing_examples(int_grid, 11)},
        "indexing_float": {"inputs": {"x": float_grid, "threshold": 0.5},
                           "outputs": indexing_examples(float_grid, 0.5)},
        "pairwise": {"inputs": {"a": points_a, "b": points_b},
                     "outputs": {"distances": pairwise_distances(points_a, points_b)}},
        "normalize": {"inputs": {"x": rows}, "outputs": {"normalized": normalize_rows(rows)}},
        "gradient": {"inputs": {"height": 3, "width": 5},
                     "outputs": {"image": gradient_image(3, 5)}},
        "reductions": {"inputs": {"x": to_reduce}, "outputs": summarize(to_reduce)},
        "inplace": {"inputs": {"x": ramp, **inplace},
                    "outputs": {"x": scale_shift_clamp_(ramp.clone(), **inplace)}},
        "vector": {"inputs": {"values": vector, "shape": torch.tensor([2, 3])},
                   "outputs": {"tensor": vector.reshape(2, 3)}},
    }


# ------------------------------------------------------------------------------------------------
# The story, as main.cpp tells it

def main():
    args = course_common.parser("Tensors: creation, dtypes, shapes, indexing, broadcasting").parse_args()
    if args.golden:
        import golden
        golden.write("01_tensors", golden_cases())
        return
    device, _ = course_common.begin(args, "01_tensors")

    print("\n-- 1. creating tensors")
    show("torch.zeros(2, 3)", torch.zeros(2, 3))
    show("torch.ones(2)", torch.ones(2))
    show("torch.arange(0, 10, 3)", torch.arange(0, 10, 3))
    show("torch.linspace(0, 1, 5)", torch.linspace(0, 1, 5))
    show("torch.full((2, 2), 7.5)", torch.full((2, 2), 7.5))
    show("torch.eye(3)", torch.eye(3))
    torch.manual_seed(args.seed)
    first = torch.rand(2, 3)
    torch.manual_seed(args.seed)
    show(f"torch.rand(2, 3) after manual_seed({args.seed})", first)
    print(f"  same seed, same numbers: {str(torch.equal(first, torch.rand(2, 3))).lower()}")
    show("torch.tensor([1.5, 2.5, 3.5])", torch.tensor([1.5, 2.5, 3.5]))

    print("\n-- 2. dtypes and conversion")
    ints, floats = torch.arange(-3, 4), torch.tensor([-1.7, -0.5, 0.5, 2.5])
    d = dtype_examples(ints, floats)
    show("ints", ints)
    show("floats", floats)
    for label, key in [("floats.to(torch.int64)", "truncated"), ("ints + 0.5", "promoted"),
                       ("ints / 2", "divided"), ("ints // 2", "floor_divided"),
                       ("floats.double()", "as_double")]:
        show(label, d[key])

    print("\n-- 3. devices")
    on_device = floats.to(device)
    print(f"  floats.to({device}) lives on {on_device.device}")
    print(f"  back on the CPU: {on_device.cpu().device}")

    print("\n-- 4. shape: view, reshape, permute, contiguous")
    x = torch.arange(12).reshape(3, 4)
    show("x = torch.arange(12).reshape(3, 4)", x)
    show("x.view(4, 3)", x.view(4, 3))
    xt = x.permute(1, 0)
    show("x.permute(1, 0)", xt)
    print(f"  x.permute(1, 0).is_contiguous() = {str(xt.is_contiguous()).lower()}")
    show("x.permute(1, 0).reshape(-1)", xt.reshape(-1))

    print("\n-- 5. indexing and slicing")
    picked = indexing_examples(x, 5)
    for label, key in [("x[1]", "row"), ("x[:, 0]", "column"), ("x[1:3, ::2]", "block"),
                       ("x[..., -1]", "last"), ("x[x > 5]", "masked"),
                       ("y[:, 0] = 0; y[y > 5] = -1", "edited")]:
        show(label, picked[key])
    print(f"  x[1, 2] = {x[1, 2].item()}")
    print(f"  x[:, None] -> {describe(x[:, None])}   x[..., None] -> {describe(x[..., None])}")
    y = x.clone()
    y[:, 1::2] *= 10
    show("y = x.clone(); y[:, 1::2] *= 10", y)

    print("\n-- 6. broadcasting")
    show("torch.arange(3).reshape(3, 1) * 10 + torch.arange(4)",
         torch.arange(3).reshape(3, 1) * 10 + torch.arange(4))
    points = torch.tensor([[0.0, 0.0], [3.0, 4.0], [6.0, 8.0]])
    centers = torch.tensor([[0.0, 0.0], [3.0, 0.0]])
    show("pairwise_distances(points, centers)", pairwise_distances(points, centers))
    show("torch.cdist(points, centers)", torch.cdist(points, centers))
    show("normalize_rows(points)", normalize_rows(points))

    print("\n-- 7. reductions")
    m = torch.tensor([[3.0, 1.0, 2.0], [0.5, 4.0, 1.5]])
    for key, value in summarize(m).items():
        show(key, value)

    print("\n-- 8. in-place ops")
    v = torch.linspace(-1, 1, 5)
    pointer = v.data_ptr()
    show("v.mul_(2).add_(0.5).clamp_(0, 2)", scale_shift_clamp_(v, 2, 0.5, 0, 2))
    print(f"  same memory as before: {str(v.data_ptr() == pointer).lower()}")

    print("\n-- 9. memory shared with NumPy (the Python cousin of from_blob)")
    array = torch.arange(1.0, 7.0).reshape(2, 3).numpy()
    shared = torch.from_numpy(array)  # no copy, like torch::from_blob
    owned = shared.clone()
    array[0, 0] = 100
    show("torch.from_numpy(array) after array[0, 0] = 100", shared)
    show("torch.from_numpy(array).clone()", owned)
    image = gradient_image(48, 64)
    print(f"  gradient_image {describe(image)}; (Python has no cv::Mat: see the C++ lesson)")


if __name__ == "__main__":
    main()
