"""03_modules in Python PyTorch: the same modules (Affine, Standardize, TinyNet) and the same eight
steps as main.cpp, so the two can be read side by side.

    python lessons/03_modules/reference.py            # the story, as main.cpp tells it
    python lessons/03_modules/reference.py --golden   # writes lessons/03_modules/golden.json

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

LESSON = "03_modules"


# ---- configuration (main.cpp: struct Config) ----
IN_FEATURES, HIDDEN, CLASSES, BLOCKS, DROPOUT, BATCH, LR = 4, 8, 3, 2, 0.5, 6, 1e-2


# ---- the modules (tiny_net.h) ----
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


# ---- what main.cpp teaches ----
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
    print(f"  total: {total} parameters in {len(list(model.parameters()))} tensors")
    return total


def max_difference(a, b):
    """Largest |a - b| over every parameter and buffer (C++: over state_dict(), by name)."""
    other = b.state_dict()
    return max(((t - other[name]).abs().max().item() for name, t in a.state_dict().items()
                if t.numel() > 0), default=0.0)


def train_step(model, optimizer, x, targets):
    model.train()
    optimizer.zero_grad()
    loss = F.cross_entropy(model(x, "classify"), targets)
    value = loss.item()
    if not math.isfinite(value):
        raise SystemExit(f"error: the loss is {value}: lower the learning rate")
    loss.backward()
    optimizer.step()
    return value


@torch.no_grad()
def predict(model, x, task):
    model.eval()
    return model(x, task)


def save_checkpoint(model, optimizer, directory):
    torch.save(model.state_dict(), directory / "model.pt")
    torch.save(optimizer.state_dict(), directory / "optimizer.pt")


def load_checkpoint(model, optimizer, directory):
    """load_state_dict checks every shape itself (C++: load_checkpoint does it by hand)."""
    model.load_state_dict(torch.load(directory / "model.pt"))
    optimizer.load_state_dict(torch.load(directory / "optimizer.pt"))


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
def yes_no(value):
    return "yes" if value else "no"


def main():
    parser = course_common.parser("Modules: build, inspect, initialise, train/eval, save/load")
    parser.add_argument("--hidden", type=int, default=HIDDEN)
    parser.add_argument("--dropout", type=float, default=DROPOUT)
    args = parser.parse_args()
    if not 1 <= args.hidden <= 4096 or not 0.0 <= args.dropout <= 0.99:
        parser.error("--hidden must be in [1, 4096] and --dropout in [0, 0.99]")
    if args.golden:
        import golden
        torch.manual_seed(0)  # not used by the cases; keeps any default init repeatable
        golden.write(LESSON, golden_cases())
        return
    device, out = course_common.begin(args, LESSON)
    x, targets = demo_batch()

    model = TinyNet(IN_FEATURES, args.hidden, CLASSES, BLOCKS, args.dropout)
    print("\n[1] the model (Python: print(model))\n", model, sep="")

    print(f"\n[2] children: {' '.join(name for name, _ in model.named_children())} "
          f"({len(list(model.modules()))} modules in all, the model included)")
    total = summary(model)
    print("  buffers (saved, not trained; Python: model.named_buffers()):",
          " ".join(name for name, _ in model.named_buffers()))

    print(f"\n[3] blocks: a ModuleList of {len(model.blocks)} Sequential, each "
          f"{len(model.blocks[0])} layers")
    for task in model.heads.keys():
        shape = ", ".join(map(str, predict(model, x, task).shape))
        print(f"    heads[\"{task}\"]: input [{', '.join(map(str, x.shape))}] -> output [{shape}]")

    model.apply(init_weights)
    bound = math.sqrt(6 / (IN_FEATURES + args.hidden))
    largest = model.stem.weight.abs().max().item()
    print(f"\n[4] after apply(init_weights): stem.weight max |w| {largest:.4f} <= Xavier bound "
          f"{bound:.4f}: {yes_no(largest <= bound)}; "
          f"stem.bias zero: {yes_no(bool((model.stem.bias == 0).all()))}")
    model.input_norm.fit(x)
    values = lambda t: ", ".join(f"{v:.4f}" for v in t.tolist())  # noqa: E731
    print(f"    input_norm.fit(x): mean [{values(model.input_norm.mean)}], "
          f"std [{values(model.input_norm.stddev)}]")

    norm = model.get_submodule("blocks.0.1")
    running_mean = norm.running_mean.clone()
    model.train()
    differ = not torch.equal(model(x, "classify"), model(x, "classify"))
    print(f"\n[5] train(), dropout {args.dropout}: two calls differ: {yes_no(differ)}; "
          f"running_mean moved: {yes_no(not torch.equal(norm.running_mean, running_mean))}")
    running_mean = norm.running_mean.clone()
    repeats = torch.equal(predict(model, x, "classify"), predict(model, x, "classify"))
    print(f"    eval(): two calls equal: {yes_no(repeats)}; "
          f"running_mean moved: {yes_no(not torch.equal(norm.running_mean, running_mean))}")

    model.to(device)
    x, targets = x.to(device), targets.to(device)
    print(f"\n[6] after to({device}): stem.weight on {model.stem.weight.device}, "
          f"input_norm.mean on {model.input_norm.mean.device}")

    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    first = train_step(model, optimizer, x, targets)
    second = train_step(model, optimizer, x, targets)
    print(f"\n[7] two Adam steps (lr {LR}): loss {first:.4f} -> {second:.4f}")

    save_checkpoint(model, optimizer, out)
    print(f"\n[8] saved model.pt and optimizer.pt in {out}")
    restored = TinyNet(IN_FEATURES, args.hidden, CLASSES, BLOCKS, args.dropout).to(device)
    restored_optimizer = torch.optim.Adam(restored.parameters(), lr=1.0)  # lr: from the file
    load_checkpoint(restored, restored_optimizer, out)
    difference = max_difference(model, restored)
    print(f"    loaded: max |difference| over parameters and buffers {difference:g}; "
          f"lr read back {restored_optimizer.param_groups[0]['lr']}")
    torch.manual_seed(args.seed)
    train_step(model, optimizer, x, targets)
    torch.manual_seed(args.seed)
    train_step(restored, restored_optimizer, x, targets)
    print(f"    one more step on both: max |difference| {max_difference(model, restored):g}")

    wide = TinyNet(IN_FEATURES, 2 * args.hidden, CLASSES, BLOCKS, args.dropout)
    try:  # Python's load_state_dict checks shapes; C++'s load_checkpoint adds that check
        load_checkpoint(wide, torch.optim.Adam(wide.parameters(), lr=1.0), out)
    except RuntimeError as error:
        print(f"    load_checkpoint into a hidden={2 * args.hidden} model:",
              str(error).splitlines()[1].strip())
    course_common.result_line(LESSON, parameters=total, modules=len(list(model.modules())),
                              save_load_difference=difference)


if __name__ == "__main__":
    main()
