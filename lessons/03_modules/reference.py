"""Lesson 03 in Python PyTorch: the same modules (Affine, Standardize, TinyNet) and the same eight
steps as main.cpp, so the two can be read side by side.

    python lessons/03_modules/reference.py            # the story, as main.cpp tells it
    python lessons/03_modules/reference.py --golden   # writes tests/golden/03_modules.json

The golden holds weights made without a random stream (sin of arange, rounded to multiples of
1/256 so float32 stores them exactly), the input batch, and what Python computes from them.
"""
import math
import pathlib
import sys

import torch
import torch.nn.functional as F
from torch import nn

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "common" / "python"))
sys.path.insert(0, str(ROOT / "tests" / "support"))
import course_common  # noqa: E402


# ---- configuration (main.cpp: struct Config) ----
IN_FEATURES, HIDDEN, CLASSES, BLOCKS, DROPOUT, BATCH, LR = 4, 8, 3, 2, 0.5, 6, 1e-2


# ---- the modules (modules.h / modules.cpp) ----
class Affine(nn.Module):
    """y = x W^T + b, a hand-written nn.Linear (C++: register_parameter)."""

    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.weight = nn.Parameter(torch.empty(out_features, in_features))
        self.bias = nn.Parameter(torch.empty(out_features)) if bias else None
        self.reset_parameters()

    def reset_parameters(self):
        with torch.no_grad():
            nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
            if self.bias is not None:
                bound = 1 / math.sqrt(self.in_features)
                nn.init.uniform_(self.bias, -bound, bound)

    def extra_repr(self):  # what print(model) shows; C++: pretty_print
        return f"in_features={self.in_features}, out_features={self.out_features}, " \
               f"bias={self.bias is not None}"

    def forward(self, x):
        y = x @ self.weight.T
        return y + self.bias if self.bias is not None else y


class Standardize(nn.Module):
    """(x - mean) / stddev with two buffers (C++: register_buffer)."""

    def __init__(self, features):
        super().__init__()
        self.register_buffer("mean", torch.zeros(features))
        self.register_buffer("stddev", torch.ones(features))

    @torch.no_grad()
    def fit(self, x):
        self.mean.copy_(x.mean(0))
        self.stddev.copy_(x.std(0).clamp_min(1e-6))

    def extra_repr(self):
        return f"features={self.mean.numel()}"

    def forward(self, x):
        return (x - self.mean) / self.stddev


class TinyNet(nn.Module):
    def __init__(self, in_features, hidden, classes, blocks=2, dropout=0.5):
        super().__init__()
        self.input_norm = Standardize(in_features)
        self.stem = Affine(in_features, hidden)
        self.blocks = nn.ModuleList([
            nn.Sequential(nn.Linear(hidden, hidden), nn.BatchNorm1d(hidden), nn.ReLU(),
                          nn.Dropout(dropout))
            for _ in range(blocks)])
        self.heads = nn.ModuleDict({"classify": nn.Linear(hidden, classes),
                                    "regress": nn.Linear(hidden, 1)})

    def forward(self, x, task):
        h = torch.relu(self.stem(self.input_norm(x)))  # (B, H)
        for block in self.blocks:
            h = h + block(h)
        return self.heads[task](h)


@torch.no_grad()
def init_weights(m):
    if isinstance(m, (nn.Linear, Affine)):
        nn.init.xavier_uniform_(m.weight)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, nn.BatchNorm1d):
        nn.init.ones_(m.weight)
        nn.init.zeros_(m.bias)


def summary(model):
    print(f"  {'parameter':<24} {'shape':<8} {'values':>6}")
    for name, p in model.named_parameters():
        print(f"  {name:<24} {str(list(p.shape)):<8} {p.numel():>6}")
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    tensors = len(list(model.parameters()))
    buffers = list(model.buffers())
    print(f"  total: {total} parameters in {tensors} tensors ({trainable} trainable)")
    print(f"  buffers (saved, not trained): {sum(b.numel() for b in buffers)} values in "
          f"{len(buffers)} tensors")
    return total


def train_step(model, optimizer, x, targets):
    optimizer.zero_grad()
    loss = F.cross_entropy(model(x, "classify"), targets)
    value = loss.item()
    if not math.isfinite(value):
        raise SystemExit(f"error: the loss is {value}: lower the learning rate or check the input")
    loss.backward()
    optimizer.step()
    return value


def demo_batch():
    wave = torch.sin(torch.arange(BATCH * IN_FEATURES, dtype=torch.float32) * 0.7)
    x = (wave * 2.0 + 1.0).reshape(BATCH, IN_FEATURES)  # (B, F)
    targets = torch.arange(BATCH) % CLASSES        # (B)
    return x, targets


# ---- golden ----
@torch.no_grad()
def fill_deterministic(model):
    """Every parameter and buffer from sin, rounded to a multiple of 1/256 (exact in float32)."""
    for k, (name, tensor) in enumerate(model.state_dict().items()):
        if name.endswith("num_batches_tracked"):
            tensor.fill_(3)
            continue
        wave = torch.sin(torch.arange(tensor.numel(), dtype=torch.float64) * 0.9 + k)
        if name.endswith(("running_var", "stddev")):
            wave = 1.0 + 0.5 * wave  # positive
        else:
            wave = 0.5 * wave
        tensor.copy_((torch.round(wave * 256) / 256).reshape(tensor.shape))


def golden_cases():
    x, targets = demo_batch()
    model = TinyNet(IN_FEATURES, HIDDEN, CLASSES, BLOCKS, dropout=0.0)
    fill_deterministic(model)
    state = {name: t.clone() for name, t in model.state_dict().items()}

    model.eval()
    eval_classify, eval_regress = model(x, "classify"), model(x, "regress")
    model.train()  # dropout is 0, so only batch norm changes: batch statistics, running update
    train_classify = model(x, "classify")
    norm = model.get_submodule("blocks.0.1")
    train_outputs = {"train_classify": train_classify,
                     "train_running_mean": norm.running_mean.clone(),
                     "train_running_var": norm.running_var.clone(),
                     "train_num_batches_tracked": norm.num_batches_tracked.clone()}

    model.load_state_dict(state)  # back to the filled weights for the Adam case
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    loss_first = train_step(model, optimizer, x, targets)
    loss_second = train_step(model, optimizer, x, targets)
    stem_weight = model.stem.weight
    adam = {"loss_first": loss_first, "loss_second": loss_second,
            "stem.weight": stem_weight.detach().clone(),
            "heads.classify.weight": model.heads["classify"].weight.detach().clone(),
            # Not blocks.1.0.bias: a bias just before BatchNorm gets a gradient of ~0 (the norm
            # subtracts it out again), so Adam's step there is sign(rounding noise) * lr, which
            # differs between LibTorch versions. The norm's own weight is well-defined.
            "blocks.1.1.weight": model.blocks[1][1].weight.detach().clone(),
            "stem.weight.exp_avg": optimizer.state[stem_weight]["exp_avg"].clone(),
            "stem.weight.exp_avg_sq": optimizer.state[stem_weight]["exp_avg_sq"].clone()}

    standardize = Standardize(IN_FEATURES)
    standardize.fit(x)

    names = TinyNet(IN_FEATURES, HIDDEN, CLASSES, BLOCKS, DROPOUT)
    return {
        "model": {"inputs": {"state": state, "x": x, "targets": targets, "dropout": 0.0},
                  "outputs": {"eval_classify": eval_classify, "eval_regress": eval_regress,
                              **train_outputs}},
        "adam": {"inputs": {"lr": LR, "steps": 2}, "outputs": adam},
        "fit": {"inputs": {"x": x},
                "outputs": {"mean": standardize.mean, "stddev": standardize.stddev}},
        "names": {"inputs": {"in_features": IN_FEATURES, "hidden": HIDDEN, "classes": CLASSES,
                             "blocks": BLOCKS},
                  "outputs": {
                      "parameter_index": {n: i for i, (n, _) in
                                          enumerate(names.named_parameters())},
                      "buffer_index": {n: i for i, (n, _) in enumerate(names.named_buffers())},
                      "child_index": {n: i for i, (n, _) in enumerate(names.named_children())},
                      "total_parameters": sum(p.numel() for p in names.parameters()),
                      "parameter_tensors": len(list(names.parameters())),
                      "buffer_tensors": len(list(names.buffers())),
                      "module_count": len(list(names.modules()))}},
    }


# ---- the story (main.cpp's main) ----
def main():
    args = course_common.parser("Modules: build, inspect, initialise, train/eval, save/load").parse_args()
    if args.golden:
        import golden
        torch.manual_seed(0)  # not used by the cases; keeps any default init repeatable
        golden.write("03_modules", golden_cases())
        return
    device, out = course_common.begin(args, "03_modules")
    x, targets = demo_batch()

    model = TinyNet(IN_FEATURES, HIDDEN, CLASSES, BLOCKS, DROPOUT)
    print("\n[1] the model\n", model, sep="")

    print("\n[2] children:", " ".join(name for name, _ in model.named_children()))
    print("    all modules, the model included:", len(list(model.modules())))
    print("    parameters:")
    total = summary(model)
    print("    buffers:", " ".join(name for name, _ in model.named_buffers()))

    print(f"\n[3] blocks: a ModuleList of {len(model.blocks)} Sequential, each "
          f"{len(model.blocks[0])} layers")
    model.eval()
    for task in model.heads.keys():
        out_shape = list(model(x, task).shape)
        print(f"    heads[\"{task}\"]: input {'x'.join(map(str, x.shape))} -> output {out_shape}")

    model.apply(init_weights)
    bound = math.sqrt(6 / (IN_FEATURES + HIDDEN))
    largest = model.stem.weight.abs().max().item()
    print(f"\n[4] after apply(init_weights): stem.weight max |w| {largest:.4f} <= Xavier bound "
          f"{bound:.4f}: {'yes' if largest <= bound else 'no'}")
    model.input_norm.fit(x)
    fmt = lambda t: ", ".join(f"{v:.4f}" for v in t.tolist())  # noqa: E731
    print(f"    input_norm.fit(x): mean [{fmt(model.input_norm.mean)}], "
          f"std [{fmt(model.input_norm.stddev)}]")

    norm = model.get_submodule("blocks.0.1")
    before = norm.running_mean.clone()
    model.train()
    a, b = model(x, "classify"), model(x, "classify")
    after_train = norm.running_mean.clone()
    model.eval()
    c, d = model(x, "classify"), model(x, "classify")
    print(f"\n[5] train(): two different outputs: {'yes' if not torch.equal(a, b) else 'no'}; "
          f"eval(): the same twice: {'yes' if torch.equal(c, d) else 'no'}")
    print(f"    running_mean moved in train(): {'yes' if not torch.equal(before, after_train) else 'no'}"
          f"; in eval(): {'yes' if not torch.equal(after_train, norm.running_mean) else 'no'}")

    model.to(device)
    x, targets = x.to(device), targets.to(device)
    print(f"\n[6] after to({device}): stem.weight on {model.stem.weight.device}")

    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    model.train()
    first = train_step(model, optimizer, x, targets)
    second = train_step(model, optimizer, x, targets)
    print(f"\n[7] two Adam steps (lr {LR}): loss {first:.4f} -> {second:.4f}")

    torch.save(model.state_dict(), out / "model.pt")
    torch.save(optimizer.state_dict(), out / "optimizer.pt")
    restored = TinyNet(IN_FEATURES, HIDDEN, CLASSES, BLOCKS, DROPOUT).to(device)
    restored.load_state_dict(torch.load(out / "model.pt"))
    restored_optimizer = torch.optim.Adam(restored.parameters(), lr=1.0)
    restored_optimizer.load_state_dict(torch.load(out / "optimizer.pt"))
    same = all(torch.equal(p, q) for p, q in zip(model.state_dict().values(),
                                                 restored.state_dict().values()))
    print(f"\n[8] saved {out / 'model.pt'}; state equal after load: {'yes' if same else 'no'}; "
          f"lr read back {restored_optimizer.param_groups[0]['lr']}")
    try:  # Python checks shapes on load; LibTorch's torch::load does not (see load_checked)
        TinyNet(IN_FEATURES, 2 * HIDDEN, CLASSES, BLOCKS, DROPOUT).load_state_dict(
            torch.load(out / "model.pt"))
    except RuntimeError as error:
        print("    load_state_dict into a hidden=16 model:", str(error).splitlines()[1].strip())
    course_common.result_line(parameters=total, modules=len(list(model.modules())),
                              save_load_difference=0 if same else 1)


if __name__ == "__main__":
    main()
