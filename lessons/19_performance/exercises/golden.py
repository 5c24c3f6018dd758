"""Writes lessons/19_performance/exercises/golden.json: what the solutions must give.

    python lessons/19_performance/exercises/golden.py

Inputs are made without a random stream (sin, cos of arange), so a rerun leaves no diff.
"""
import math
import pathlib
import sys

import torch

ROOT = pathlib.Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "tests" / "support"))
import exercise_golden  # noqa: E402


def autocast_case():
    a = torch.sin(torch.arange(12, dtype=torch.float32) * 0.77 + 0.1).reshape(3, 4) * 3.3
    b = torch.cos(torch.arange(8, dtype=torch.float32) * 1.31).reshape(4, 2) * 1.7
    with torch.autocast("cpu", dtype=torch.bfloat16):
        inside = a @ b  # bfloat16
    assert inside.dtype == torch.bfloat16 and not torch.is_autocast_enabled("cpu")
    return {"inputs": {"a": a, "b": b},
            "outputs": {"mm_autocast": inside.float(), "mm_float32": a @ b}}


def scaler_case():
    """Seven steps of torch.amp.GradScaler (growth_interval 2) on two parameters, fed gradients
    as backward of a scaled loss would leave them; steps 2 and 4 overflowed (an inf, a NaN)."""
    params = [torch.zeros(3, requires_grad=True), torch.zeros(2, 2, requires_grad=True)]
    optimizer = torch.optim.SGD(params, lr=0.1)
    scaler = torch.amp.GradScaler("cpu", init_scale=1024.0, growth_factor=2.0,
                                  backoff_factor=0.5, growth_interval=2)
    inputs, outputs = {}, {}
    for step in range(7):
        grads = [300 * torch.sin(torch.arange(3, dtype=torch.float32) + step),
                 500 * torch.cos(torch.arange(4, dtype=torch.float32) * 0.5 + step).reshape(2, 2)]
        # JSON has no inf or NaN: the grade puts them in, where `poison` says (1 inf, 2 NaN).
        poison = {2: (1, 1, 1), 4: (2, 0, 2)}.get(step, (0, 0, 0))  # (kind, grad, flat index)
        inputs[f"step{step}"] = {"grad0": grads[0].clone(), "grad1": grads[1].clone(),
                                 "poison": poison[0], "poison_grad": poison[1],
                                 "poison_index": poison[2]}
        if poison[0]:
            grads[poison[1]].view(-1)[poison[2]] = math.inf if poison[0] == 1 else math.nan
        for p, g in zip(params, grads):
            p.grad = g.clone()
        before = [p.detach().clone() for p in params]
        scaler.scale(torch.ones(()))  # what scaler.scale(loss) would do first: creates the scale
        scaler.unscale_(optimizer)
        unscaled = [p.grad.clone() for p in params]
        scaler.step(optimizer)
        stepped = any(not torch.equal(p.detach(), q) for p, q in zip(params, before))
        scaler.update()
        outputs[f"step{step}"] = {
            "stepped": int(stepped), "scale": scaler.get_scale(),
            "good_steps": int(scaler.state_dict()["_growth_tracker"])}
        if stepped:  # a skipped step's gradients hold the inf or NaN
            outputs[f"step{step}"].update({"unscaled0": unscaled[0], "unscaled1": unscaled[1]})
    return {"inputs": inputs, "outputs": outputs}


if __name__ == "__main__":
    exercise_golden.write("19_performance", {"autocast": autocast_case(), "scaler": scaler_case()})
