#!/usr/bin/env python3
"""01_tensors in Python PyTorch: the same examples as main.cpp, and the golden values.

Each section below is a namespace (the tensors the section starts from) and a list of Python
expressions, the same texts as the first argument of main.cpp's EXAMPLE("python", c++). This file
evaluates each text with eval() (a statement such as "y[:, 0] = 0" with exec(); its value is then
the tensor it wrote into, as C++'s index_put_ returns it), prints it as main.cpp does, and --golden
stores every value in golden.json keyed by its Python text. test.cpp checks each C++ example's
value against golden[its Python text], so neither spelling can drift from what is computed.

    python lessons/01_tensors/reference.py            # print the examples, as the C++ lesson does
    python lessons/01_tensors/reference.py --golden   # write lessons/01_tensors/golden.json

The golden inputs are arange/linspace/fixed lists; the one random stream is the lesson's point
that torch.manual_seed(42) gives the same numbers in C++ and in Python.
"""
import array
import pathlib
import re
import sys

import torch

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "common" / "python"))
sys.path.insert(0, str(ROOT / "tests" / "support"))
import course_common  # noqa: E402

LESSON = "01_tensors"


# ------------------------------------------------------------------------------------------------
# The sections: (namespace, examples), the twins of main.cpp's functions of the same names.

def creating():
    numbers = [1.5, 2.5, 3.5]
    return locals(), ["torch.zeros(2, 3)", "torch.ones(2)", "torch.arange(0, 10, 3)",
                      "torch.linspace(0, 1, 5)", "torch.full((2, 2), 7.5)", "torch.eye(3)",
                      "torch.tensor(numbers)", "torch.zeros(2, 3, dtype=torch.float64)"]


def random_numbers(seed):
    torch.manual_seed(seed)
    return {}, ["torch.rand(2, 3)", "torch.rand(2)"]


def dtypes():
    ints = torch.arange(-3, 4)
    floats = torch.tensor([-1.7, -0.5, 0.5, 2.5])
    return locals(), ["ints", "floats", "floats.to(torch.int64)", "ints + 0.5", "ints / 2",
                      "ints // 2", "floats.double()", "ints.sum().item()"]


def shapes():
    x = torch.arange(12).reshape(3, 4)
    return locals(), ["x", "x.shape", "x.size(0)", "x.dim()", "x.numel()", "x.view(4, 3)",
                      "x.view(-1)", "x.permute(1, 0)", "x.permute(1, 0).is_contiguous()",
                      "x.permute(1, 0).reshape(-1)", "x.unsqueeze(0).shape"]


def indexing():
    x = torch.arange(12).reshape(3, 4)
    return locals(), ["x[1]", "x[1, 2]", "x[:, 0]", "x[1:3, ::2]", "x[..., -1]", "x[None].shape",
                      "x[:, None].shape", "x[x > 5]", "x[torch.tensor([2, 0])]", "x[1, 2].item()",
                      "y = x.clone()", "y[:, 1::2].mul_(10)", "y", "y[:, 0] = 0", "y[y > 50] = -1"]


def broadcasting():
    points = torch.tensor([[0.0, 0.0], [3.0, 4.0], [6.0, 8.0]])
    centers = torch.tensor([[0.0, 0.0], [3.0, 0.0]])
    return locals(), ["torch.arange(3).reshape(3, 1) * 10 + torch.arange(4)", "points", "centers",
                      "(points[:, None] - centers[None]).shape",
                      "(points[:, None] - centers[None]).pow(2).sum(-1).sqrt()",
                      "torch.cdist(points, centers)",
                      "points / points.norm(dim=1, keepdim=True).clamp_min(1e-12)"]


def reductions():
    m = torch.tensor([[3.0, 1.0, 2.0], [0.5, 4.0, 1.5]])
    return locals(), ["m", "m.sum()", "m.sum(0)", "m.mean(1)", "m.max(1).values",
                      "m.max(1).indices", "m.argmax(1)", "m - m.mean(1, keepdim=True)",
                      "m.sum().item()"]


def in_place():
    v = torch.linspace(-1, 1, 5)
    before = v.data_ptr()
    return locals(), ["v", "v * 2", "v.mul_(2).add_(0.5).clamp_(0, 2)", "v += 0.5",
                      "v.data_ptr() == before"]


def memory():
    buffer = array.array("f", [1, 2, 3, 4, 5, 6])
    borrowed = torch.frombuffer(buffer, dtype=torch.float32).reshape(2, 3)  # no copy: from_blob
    owned = borrowed.clone()
    buffer[0] = 100  # shows through `borrowed` only
    return locals(), ["borrowed", "owned", "owned.flatten().tolist()"]


def gradient_image(height, width):
    across = torch.linspace(0, 1, width).reshape(1, width)
    down = torch.linspace(0, 1, height).reshape(height, 1)
    return torch.stack([across.expand(height, width), down.expand(height, width), across * down])


def run(section):
    """[(python, value, is_tensor)] in order: eval() each expression, exec() each statement."""
    namespace, examples = section
    namespace = {"torch": torch, **namespace}
    results = []
    for python in examples:
        try:
            value = eval(compile(python, "<example>", "eval"), namespace)
        except SyntaxError:  # a statement: its value is the tensor it assigns to
            exec(python, namespace)
            value = namespace[re.match(r"\w+", python).group()]  # "y[:, 0] = 0" -> y
        if isinstance(value, torch.Tensor):
            results.append((python, value.clone(), True))
        else:  # a number, a bool, a shape or a list, as a tensor (what C++ makes of it)
            results.append((python, torch.tensor(value), False))
    return results


# ------------------------------------------------------------------------------------------------
# Printing, as course/show.h does

def format_values(t, decimals=4):
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


def print_examples(results):
    for python, value, is_tensor in results:
        if is_tensor:
            show(python, value)
        else:
            print(f"  {python} = {format_values(value)}")


# ------------------------------------------------------------------------------------------------
# Golden cases

def golden_key(python):
    """golden.h's paths put '/' between keys, so a '/' of the Python text is stored as %2F."""
    return python.replace("%", "%25").replace("/", "%2F")


def golden_value(value):
    """A bool tensor is stored with 0/1 data: golden.h reads every "data" list as numbers."""
    if value.dtype == torch.bool:
        return {"shape": list(value.shape), "dtype": "bool", "data": value.int().flatten().tolist()}
    return value


def golden_cases(seed=42):
    sections = {"creating": creating(), "random": random_numbers(seed), "dtypes": dtypes(),
                "shapes": shapes(), "indexing": indexing(), "broadcasting": broadcasting(),
                "reductions": reductions(), "in_place": in_place(), "memory": memory()}
    cases = {}
    for name, section in sections.items():
        if name == "random":
            torch.manual_seed(seed)  # run() draws now; the other sections came in between
        results = run(section)
        inputs = {"examples": [python for python, _, _ in results], "count": len(results)}
        if name == "random":
            inputs["seed"] = seed
        cases[name] = {"inputs": inputs,
                       "outputs": {golden_key(python): golden_value(value)
                                   for python, value, _ in results}}
    cases["gradient"] = {"inputs": {"height": 3, "width": 5},
                         "outputs": {"image": gradient_image(3, 5)}}
    return cases


# ------------------------------------------------------------------------------------------------
# The story, as main.cpp tells it

def main():
    args = course_common.parser("Tensors: creation, dtypes, shapes, indexing, broadcasting").parse_args()
    if args.golden:
        import golden
        golden.write(LESSON, golden_cases())
        return
    device, _ = course_common.begin(args, LESSON)

    print("\n-- 1. creating tensors (Python | C++)")
    print_examples(run(creating()))
    print(f"  after torch.manual_seed({args.seed}):")
    first = run(random_numbers(args.seed))
    print_examples(first)
    same = torch.equal(first[0][1], run(random_numbers(args.seed))[0][1])
    print(f"  same seed, same numbers: {str(same).lower()}")

    print("\n-- 2. dtypes and conversion")
    print_examples(run(dtypes()))

    print("\n-- 3. devices (Python: x.to(device), x.device, x.cpu())")
    on_device = torch.arange(4).to(device)
    print(f"  torch.arange(4).to({device}).device = {on_device.device}, "
          f".cpu().device = {on_device.cpu().device}")
    print(f"  torch.zeros(2, 3, device={device}).device = {torch.zeros(2, 3, device=device).device}")

    print("\n-- 4. shape: view, reshape, permute, contiguous")
    print_examples(run(shapes()))
    try:
        torch.arange(12).reshape(3, 4).permute(1, 0).view(-1)
    except RuntimeError:
        print("  x.permute(1, 0).view(-1) fails: use reshape or .contiguous()")

    for title, section in [("5. indexing and slicing", indexing),
                           ("6. broadcasting", broadcasting), ("7. reductions", reductions),
                           ("8. in-place ops: a trailing _ changes the tensor itself", in_place),
                           ("9. memory shared with a Python buffer (from_blob's cousin)", memory)]:
        print(f"\n-- {title}")
        print_examples(run(section()))
    image = gradient_image(48, 64)
    print(f"  gradient_image {describe(image)} (cv::Mat is C++ only: see main.cpp)")


if __name__ == "__main__":
    main()
