"""Writes lessons/09_resnet/exercises/golden.json: what the exercises' solutions must give.

    python lessons/09_resnet/exercises/golden.py

Inputs and weights are made without a random stream (sin, cos of arange), so a rerun leaves no
diff. The blocks run in eval() mode: their batch norms use the running statistics set here.
"""
import pathlib
import sys

import torch

ROOT = pathlib.Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "tests" / "support"))
sys.path.insert(0, str(ROOT / "common" / "python"))
import course_common  # noqa: E402
import exercise_golden  # noqa: E402


lesson09 = course_common.lesson_reference("09_resnet")
BasicBlock = lesson09.BasicBlock  # lesson 09's block


def block_case(cin, cout, stride, size, shift):
    """A block with set weights and running statistics, an input, and its eval() output."""
    block = BasicBlock(cin, cout, stride)
    inputs = {}
    with torch.no_grad():
        for k, (name, tensor) in enumerate(block.state_dict().items()):
            if name.endswith("num_batches_tracked"):
                continue
            wave = torch.sin(torch.arange(tensor.numel(), dtype=torch.float32) * 0.8 + k + shift)
            if name.endswith("running_var"):
                values = 1.0 + 0.5 * wave * wave  # positive
            elif name.endswith("weight") and tensor.dim() == 1:
                values = 1.0 + 0.3 * wave  # a batch norm's scale, near 1
            else:
                values = 0.4 * wave
            tensor.copy_(values.reshape(tensor.shape))
            inputs[name] = tensor.clone()
    x = torch.cos(torch.arange(2 * cin * size * size, dtype=torch.float32) * 0.3 + shift)
    x = x.reshape(2, cin, size, size) * 1.5
    block.eval()
    return {"inputs": {"x": x, **inputs}, "outputs": {"y": block(x)}}


def cases():
    return {
        "identity_block": block_case(3, 3, 1, 4, 0.0),
        "projection_block": block_case(3, 5, 2, 5, 1.0),
        "warmup_cosine": {"inputs": {"peak": 0.1, "warmup": 3, "total": 12},
                          "outputs": {"lr": torch.tensor(lesson09.pytorch_warmup_cosine(0.1, 3, 12, 12),
                                                         dtype=torch.float64)}},
    }


if __name__ == "__main__":
    exercise_golden.write("09_resnet", cases())
