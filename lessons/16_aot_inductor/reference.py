#!/usr/bin/env python3
"""16_aot_inductor in Python PyTorch: the same files export.py made (the AOTInductor package
cnn.pt2 through torch._inductor.aoti_load_package, cnn_scripted.pt through torch.jit.load, the
state_dict cnn_state.pt in lesson 08's Cnn), the same comparisons and the same latency table as
main.cpp, with the same flags and printed lines.

    python lessons/16_aot_inductor/reference.py --threads 2    # after ./course build 16
    python lessons/16_aot_inductor/reference.py --smoke
    python lessons/16_aot_inductor/reference.py --golden       # write golden.json
"""
import math
import pathlib
import sys
import time
import warnings

import torch

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "common" / "python"))
sys.path.insert(0, str(ROOT / "tests" / "support"))
sys.path.insert(0, str(HERE))
import course_common  # noqa: E402
import export  # noqa: E402  (export.py: Cnn, fixed_cnn, fixed_images)

LESSON = "16_aot_inductor"
BATCHES = (1, 64)
MODELS = ROOT / "build" / "release" / "exported" / LESSON


def require_file(path):
    if not path.is_file():
        raise SystemExit(f"error: {path} not found. export.py makes it: ./course build 16, or "
                         f"python lessons/{LESSON}/export.py --out {path.parent} (and pass "
                         "that folder with --models)")
    return path


def load_package(path):
    """C++: torch::inductor::AOTIModelPackageLoader(path)."""
    return torch._inductor.aoti_load_package(str(require_file(path)))


def load_eager(path, device):
    model = export.Cnn()
    model.load_state_dict(torch.load(require_file(path), map_location=device))
    return model.to(device).eval()


def load_torchscript(path, device):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return torch.jit.load(str(require_file(path)), map_location=device).eval()


def latency_stats(ms):
    """(median, p99): the mean of the middle two for an even count; p99 by the nearest rank."""
    ms = sorted(ms)
    n = len(ms)
    median = ms[n // 2] if n % 2 == 1 else (ms[n // 2 - 1] + ms[n // 2]) / 2
    return median, ms[math.ceil(0.99 * n) - 1]


def time_runs(forward, warmup, runs):
    for _ in range(warmup):
        forward()
    ms = []
    for _ in range(runs):
        clock = time.perf_counter()
        forward()
        ms.append(1000 * (time.perf_counter() - clock))
    return ms


def largest_difference(a, b):
    return (a - b).abs().max().item()


def main_run(args):
    device, out = course_common.begin(args, LESSON)
    runs = min(args.runs, 5) if args.smoke else args.runs
    warmup = min(args.warmup, 2) if args.smoke else args.warmup
    models = pathlib.Path(args.models)
    package = load_package(models / "cnn.pt2")
    if device.type != "cpu":
        print(f"note: cnn.pt2 was compiled for cpu; all three run there (not on {device})")
    device = torch.device("cpu")
    scripted = load_torchscript(models / "cnn_scripted.pt", device)
    eager = load_eager(models / "cnn_state.pt", device)
    parameters = sum(p.numel() for p in eager.parameters())
    print(f"loaded: cnn.pt2 (AOTInductor, compiled for cpu), cnn_scripted.pt (TorchScript), "
          f"cnn_state.pt into the Python Cnn ({parameters} parameters)")

    paths = [("eager PyTorch", "eager", eager), ("TorchScript", "torchscript", scripted),
             ("AOTInductor", "aoti", package)]
    with torch.inference_mode():
        for batch in (1, 2, 64):
            images = export.fixed_images(batch)
            reference = eager(images)
            print(f"outputs: batch {batch:2} | AOTInductor vs eager "
                  f"{largest_difference(package(images), reference):.1e} | TorchScript vs eager "
                  f"{largest_difference(scripted(images), reference):.1e}")
        first = package(export.fixed_images(1))[0]
        print("outputs: logits of the first image [" + ", ".join(f"{v:.4f}" for v in first.tolist())
              + "]")

        print(f"latency: {runs} runs after {warmup} warm-up runs, {torch.get_num_threads()} "
              "threads, milliseconds per forward pass")
        print(f"{'path':<15} {'batch':>5} {'median':>9} {'p99':>9} {'vs eager median':>16}")
        csv = "path,batch,runs,median_ms,p99_ms\n"
        result = {}
        for batch in BATCHES:
            images = export.fixed_images(batch)
            eager_median = 0.0
            for name, key, forward in paths:
                median, p99 = latency_stats(time_runs(lambda: forward(images), warmup, runs))
                if key == "eager":
                    eager_median = median
                print(f"{name:<15} {batch:>5} {median:>9.3f} {p99:>9.3f} "
                      f"{eager_median / median:>15.2f}x")
                csv += f"{name},{batch},{runs},{median:.6f},{p99:.6f}\n"
                result[f"{key}_b{batch}_median_ms"] = median
    (out / "latency.csv").write_text(csv)
    print(f"wrote latency.csv in {out}")
    course_common.result_line(LESSON, **result)


# ---- goldens (test.cpp) -------------------------------------------------------------------------
def write_golden():
    """Python's eager outputs of export.fixed_cnn(): the model every file of export.py holds. Batch 1
    and 5: export's example had batch 2, so neither was seen when the graph was traced."""
    model = export.fixed_cnn()
    cases = {}
    with torch.no_grad():
        for batch in (1, 5):
            images = export.fixed_images(batch)
            cases[f"batch{batch}"] = {
                "inputs": {"images": images,
                           "note": "export.fixed_images; the model is export.fixed_cnn()"},
                "outputs": {"logits": model(images)},
            }
    import golden  # tests/support/golden.py
    golden.write(LESSON, cases)


def main():
    parser = course_common.parser(f"{LESSON}: an AOTInductor package, run and timed")
    parser.add_argument("--models", default=str(MODELS), help="folder of export.py's files")
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=10)
    args = parser.parse_args()
    if args.golden:
        write_golden()
    else:
        main_run(args)


if __name__ == "__main__":
    main()
