#!/usr/bin/env python3
"""15_torchscript_interop in Python PyTorch: the same steps and flags as main.cpp, on the same files
export.py made (torch.jit.load of the scripted and traced classifier, torch.load of backbone.pt,
the same fine-tuning), printing the same lines. The TorchScript lines are equal to C++'s digit for
digit: the same module on the same images.

    python lessons/15_torchscript_interop/reference.py --threads 2    # after ./course build 15
    python lessons/15_torchscript_interop/reference.py --smoke
    python lessons/15_torchscript_interop/reference.py --golden       # write golden.json
    python lessons/15_torchscript_interop/reference.py --evaluate .../run_1/finetuned.pt
        (C++'s fine-tuned weights in the Python Cnn: its test accuracy on classes 5-9)
    python lessons/15_torchscript_interop/reference.py --roundtrip IN OUT
        (test.cpp: load C++'s state_dict IN into the Python Cnn, strictly, and torch.save it as OUT)
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
sys.path.insert(0, str(HERE))
import course_common  # noqa: E402
import export  # noqa: E402  (export.py: Cnn, Classifier, the fixed test model, state_dict files)

LESSON = "15_torchscript_interop"
EPOCHS = 10
EVAL_BATCH = 1000
SHOWN = 1000  # test images of classes 0-4 given to the TorchScript modules
MODELS = ROOT / "build" / "release" / "exported" / LESSON


def require_file(path):
    if not path.is_file():
        raise SystemExit(f"error: {path} not found. export.py makes it: ./course build 15, or "
                         f"python lessons/{LESSON}/export.py --out {path.parent} (and pass "
                         "that folder with --models)")
    return path


# ---- 1. TorchScript --------------------------------------------------------------------------
def load_torchscript(path, device):
    module = torch.jit.load(str(require_file(path)), map_location=device)
    return module.eval()


def run(module, pixels):
    with torch.no_grad():
        return module(pixels)


# ---- 3. Transfer learning ----------------------------------------------------------------------
def freeze_backbone(model, frozen):
    for name, parameter in model.named_parameters():
        if not name.startswith("head."):
            parameter.requires_grad_(not frozen)


def train_mode(model):
    model.train()
    for bn in (model.bn1, model.bn2):
        if not bn.weight.requires_grad:
            bn.eval()


def stage_optimizer(model, frozen, args):
    freeze_backbone(model, frozen)
    return torch.optim.Adam(model.head.parameters() if frozen else model.parameters(),
                            lr=args.head_lr if frozen else args.full_lr)


def train_step(model, optimizer, images, labels):
    optimizer.zero_grad()
    loss = F.cross_entropy(model(images), labels)
    loss.backward()
    optimizer.step()
    return loss.detach()


def train_epoch(model, optimizer, x, y, batch_size):
    train_mode(model)
    order = torch.randperm(x.shape[0]).to(x.device)
    loss_sum = torch.zeros((), device=x.device)
    for start in range(0, x.shape[0], batch_size):
        index = order[start:start + batch_size]
        loss_sum += train_step(model, optimizer, x[index], y[index]) * index.shape[0]
    return loss_sum.item() / x.shape[0]


def accuracy(logits, labels):
    return (logits.argmax(1) == labels).double().mean().item()


def predict(model, x):
    model.eval()
    with torch.no_grad():
        logits = torch.cat([model(x[s:s + EVAL_BATCH]) for s in range(0, x.shape[0], EVAL_BATCH)])
    model.train()
    return logits


def select_classes(images, labels, first, limit):
    index = ((labels >= first) & (labels < first + 5)).nonzero().flatten()
    if limit > 0:
        index = index[:limit]
    return images[index], labels[index] - first


def to_pixels(images):
    return images.float().div(255).unsqueeze(1)


def main_run(args):
    device, out = course_common.begin(args, LESSON)
    models = pathlib.Path(args.models)
    train_images, train_labels = course_common.load_fashion(args, train=True)
    test_images, test_labels = course_common.load_fashion(args, train=False)

    scripted = load_torchscript(models / "classifier_scripted.pt", device)
    traced = load_torchscript(models / "classifier_traced.pt", device)
    seen_images, seen_labels = select_classes(test_images, test_labels, 0, SHOWN)
    pixels, labels = to_pixels(seen_images).to(device), seen_labels.to(device)
    script_logits = run(scripted, pixels)
    print(f"torchscript: {pixels.shape[0]} test images of classes 0-4 | scripted acc "
          f"{accuracy(script_logits, labels):.4f} | traced acc "
          f"{accuracy(run(traced, pixels), labels):.4f} | largest difference "
          f"{(run(traced, pixels) - script_logits).abs().max().item():.1e}")
    print("torchscript: logits of the first image [" +
          ", ".join(f"{v:.4f}" for v in script_logits[0].tolist()) + "]")
    negatives = 1 - pixels
    print(f"torchscript: the same images as negatives | scripted acc "
          f"{accuracy(run(scripted, negatives), labels):.4f} | traced acc "
          f"{accuracy(run(traced, negatives), labels):.4f} (the trace lost the `if`)")

    model = export.Cnn(classes=5).to(device)
    backbone = torch.load(require_file(models / "backbone.pt"), map_location=device)
    model.load_state_dict(backbone)
    cnn_logits = predict(model, course_common.normalize_fashion(seen_images).to(device))
    print(f"weights: {len(backbone)} tensors from backbone.pt (torch.save in Python) | the Python "
          f"Cnn and the scripted module differ by at most "
          f"{(cnn_logits - script_logits).abs().max().item():.1e}")

    x, y = select_classes(train_images, train_labels, 5, args.train_images)
    x_test, y_test = select_classes(test_images, test_labels, 5, 0)
    x, y = course_common.normalize_fashion(x).to(device), y.to(device)
    x_test, y_test = course_common.normalize_fashion(x_test).to(device), y_test.to(device)
    print(f"data: {x.shape[0]} train, {x_test.shape[0]} test images of classes 5-9 "
          "(Sandal ... Ankle boot)")
    model.head = torch.nn.Linear(model.head.in_features, 5).to(device)  # a new head, classes 5-9
    print(f"new head:        test acc {accuracy(predict(model, x_test), y_test):.4f} "
          "(chance: 0.2)")
    acc, train_seconds = 0.0, 0.0
    for frozen in (True, False):
        optimizer = stage_optimizer(model, frozen, args)
        group = optimizer.param_groups[0]
        print(f"stage {1 if frozen else 2}: Adam over {len(group['params'])} of "
              f"{len(list(model.parameters()))} parameter tensors, lr {group['lr']}")
        lr = args.head_lr if frozen else args.full_lr
        for epoch in range(1, args.epochs + 1):
            clock = time.time()
            loss = train_epoch(model, optimizer, x, y, args.batch_size)
            train_seconds += time.time() - clock
            if loss != loss or abs(loss) == float("inf"):
                raise SystemExit(f"error: loss became {loss} at epoch {epoch}; lower the learning "
                                 f"rate (now {lr})")
            acc = accuracy(predict(model, x_test), y_test)
            stage = "frozen backbone" if frozen else "everything     "
            print(f"{stage} epoch {epoch:2}/{args.epochs} | train loss {loss:.4f} | "
                  f"test acc {acc:.4f}", flush=True)

    export.save_state_dict(model, out / "finetuned.pt")
    print(f"wrote finetuned.pt in {out}: C++ reads it with torch::pickle_load")
    epochs = 2 * args.epochs
    course_common.result_line(LESSON, epochs=epochs, epoch_time_s=train_seconds / epochs,
                              train_samples_per_s=epochs * x.shape[0] / train_seconds,
                              test_acc=acc)


# ---- goldens (test.cpp) -------------------------------------------------------------------------
def write_golden():
    cases = {}
    fixed = export.fixed_cnn()
    cases["state"] = {
        "inputs": {"note": "export.fixed_cnn(): export.py saves it as fixed_state.pt"},
        "outputs": {"state": {k: v.clone() for k, v in fixed.state_dict().items()}},
    }

    # The fixed model as TorchScript, exactly as export.py makes fixed_scripted.pt and
    # fixed_traced.pt: traced on ordinary pixels (mean about 0.3), so its `if` was false.
    scripted, traced = export.to_torchscript(fixed, export.fixed_pixels(2))
    pixels = export.fixed_pixels(3)
    cases["torchscript"] = {
        "inputs": {"pixels": pixels},
        "outputs": {"scripted": run(scripted, pixels), "traced": run(traced, pixels),
                    "scripted_negatives": run(scripted, 1 - pixels),
                    "traced_negatives": run(traced, 1 - pixels)},
    }

    # One step of stage 1: backbone frozen (and its batch norms in eval mode), Adam on the head.
    model = export.fixed_cnn()
    freeze_backbone(model, True)
    train_mode(model)
    lr = 0.01
    optimizer = torch.optim.Adam(model.head.parameters(), lr=lr)
    images = (export.fixed_pixels(6) - course_common.FASHION_MEAN) / course_common.FASHION_STD
    labels = torch.arange(6) % 5
    loss = train_step(model, optimizer, images, labels)
    cases["finetune_step"] = {
        "inputs": {"images": images, "labels": labels, "lr": lr,
                   "note": "the model of state/outputs/state"},
        "outputs": {"loss": loss.item(), "head.weight": model.head.weight.detach().clone(),
                    "head.bias": model.head.bias.detach().clone()},
    }
    import golden  # tests/support/golden.py
    golden.write(LESSON, cases)


def roundtrip(source, target):
    """C++ -> Python -> C++: C++'s file into the Python Cnn (strict), then torch.save again."""
    model = export.fixed_cnn()  # the widths of the test's model; its values are overwritten
    export.load_state_dict(model, source)
    export.save_state_dict(model, target)
    total = sum(t.double().sum().item() for t in model.state_dict().values())
    print(f"roundtrip: {len(model.state_dict())} tensors from {source} (sum {total:.6f}) "
          f"saved as {target}")


def evaluate_cpp_weights(args):
    """C++'s finetuned.pt (torch::pickle_save) into the Python Cnn, strictly; its test accuracy."""
    model = export.Cnn(classes=5)
    export.load_state_dict(model, args.evaluate)
    test_images, test_labels = course_common.load_fashion(args, train=False)
    x_test, y_test = select_classes(test_images, test_labels, 5, 0)
    acc = accuracy(predict(model, course_common.normalize_fashion(x_test)), y_test)
    print(f"evaluate: {len(model.state_dict())} tensors from {args.evaluate} (C++) in the Python "
          f"Cnn | test acc {acc:.4f} on {x_test.shape[0]} test images of classes 5-9")


def main():
    parser = course_common.parser(f"{LESSON}: Python's models and weights in C++", epochs=EPOCHS)
    parser.add_argument("--models", default=str(MODELS), help="folder of export.py's .pt files")
    parser.add_argument("--train-images", type=int, default=500)
    parser.add_argument("--head-lr", type=float, default=1e-2)
    parser.add_argument("--full-lr", type=float, default=1e-4)
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument("--evaluate", metavar="FILE", help="C++'s finetuned.pt: its test accuracy")
    parser.add_argument("--roundtrip", nargs=2, metavar=("IN", "OUT"))
    args = parser.parse_args()
    if args.golden:
        write_golden()
    elif args.roundtrip:
        roundtrip(*args.roundtrip)
    elif args.evaluate:
        evaluate_cpp_weights(args)
    else:
        main_run(args)


if __name__ == "__main__":
    main()
