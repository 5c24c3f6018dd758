"""golden.py: writing lessons/<lesson>/golden.json from a lesson's reference.py.

A golden file holds named cases; each case stores its inputs and the outputs Python PyTorch
computed from them, so the C++ test never depends on a random-number stream. Values are rounded
to 8 significant digits so the file is readable and regenerates without a diff.
"""
import json
import pathlib

import torch

REPO = pathlib.Path(__file__).resolve().parents[2]


def _number(value):
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value
    return float(f"{value:.8g}")


def encode(value):
    """A tensor becomes {shape, dtype, data}; numbers are rounded; dicts and lists recurse."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu()
        dtype = str(value.dtype).replace("torch.", "")
        data = [_number(v) for v in value.flatten().tolist()]
        return {"shape": list(value.shape), "dtype": dtype, "data": data}
    if isinstance(value, dict):
        return {key: encode(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode(item) for item in value]
    if isinstance(value, (int, float)):
        return _number(value)
    return value


def write(lesson, cases):
    """Writes lessons/<lesson>/golden.json with the given {case: {"inputs": ..., "outputs": ...}}."""
    path = REPO / "lessons" / lesson / "golden.json"
    document = {"lesson": lesson, "generated_by": f"lessons/{lesson}/reference.py --golden",
                "cases": encode(cases)}
    path.write_text(_dump(document) + "\n")
    print(f"wrote {path.relative_to(REPO)}")


def _dump(value, indent=0):
    """JSON with sorted keys, one key per line, and each list of numbers on one line."""
    pad = " " * indent
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [f'{pad} {json.dumps(key)}: {_dump(value[key], indent + 1)}' for key in sorted(value)]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(value, list) and any(isinstance(item, (dict, list)) for item in value):
        items = [f"{pad} {_dump(item, indent + 1)}" for item in value]
        return "[\n" + ",\n".join(items) + "\n" + pad + "]"
    return json.dumps(value)
