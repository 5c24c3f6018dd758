#!/usr/bin/env python3
"""19_performance in Python PyTorch: lesson 08's CNN measured (profiler, counted FLOPs, the matmul
peak) and sped up with the same levers as main.cpp (threads, malloc thresholds, channels_last,
bf16 autocast; fp16 autocast with torch.amp.GradScaler on CUDA; inference_mode), same flags, same
printed lines.

    python lessons/19_performance/reference.py --threads 2     # the full run (5 + 5 epochs)
    python lessons/19_performance/reference.py --smoke         # 512 images, seconds
    python lessons/19_performance/reference.py --golden        # write golden.json
"""
import ctypes
import math
import pathlib
import sys
import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "common" / "python"))
sys.path.insert(0, str(ROOT / "tests" / "support"))
import course_common  # noqa: E402

Cnn = course_common.lesson_reference("08_cnn").Cnn  # cnn.h's twin

LESSON = "19_performance"
EPOCHS = 5
WARMUP_STEPS = 5
EVAL_BATCH = 1000
LOG_EVERY = 100


@dataclass
class Setting:
    name: str
    threads: int
    channels_last: bool = False
    autocast: bool = False


# ---- measure first ------------------------------------------------------------------------------
def conv1_macs(c1=32):
    return 28 * 28 * c1 * 9 * 1


def forward_macs(c1=32, c2=64, hidden=128, classes=10):
    return conv1_macs(c1) + 14 * 14 * c2 * 9 * c1 + c2 * 7 * 7 * hidden + hidden * classes


def training_flops_per_image(**widths):
    return 2.0 * (3 * forward_macs(**widths) - conv1_macs(widths.get("c1", 32)))


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def matmul_gflops(dtype, device, n, reps):
    a = torch.rand(n, n, device=device).to(dtype)
    b = torch.rand(n, n, device=device).to(dtype)
    c = a @ b
    sync(device)
    start = time.perf_counter()
    for _ in range(reps):
        c = a @ b
    sync(device)
    return 2.0 * n ** 3 * reps / (time.perf_counter() - start) / 1e9


OP_CLASSES = [("optimizer", "optimizer"), ("conv", "convolution"), ("batch_norm", "batch norm"),
              ("batchnorm", "batch norm"), ("pool", "max pooling"), ("mm", "linear"),
              ("linear", "linear"), ("relu", "relu"), ("threshold", "relu"), ("entropy", "loss"),
              ("softmax", "loss"), ("nll", "loss")]


def op_class(name):
    name = name.lower()
    return next((op for key, op in OP_CLASSES if key in name), "other")


def seconds_by_class(events):
    """Seconds per op class of the top-level ops (no parent op)."""
    seconds = {}
    for e in events:
        if e.cpu_parent is None and e.device_type == torch.autograd.DeviceType.CPU:
            key = op_class(e.name)
            seconds[key] = seconds.get(key, 0.0) + e.time_range.elapsed_us() / 1e6
    return dict(sorted(seconds.items()))


# ---- the levers ---------------------------------------------------------------------------------
def autocast_dtype(device):
    return torch.float16 if device.type == "cuda" else torch.bfloat16


def keep_freed_memory():
    """glibc's mallopt through ctypes: M_MMAP_THRESHOLD (-3) 32 MiB, M_TRIM_THRESHOLD (-1) max."""
    libc = ctypes.CDLL("libc.so.6")
    return libc.mallopt(-3, 32 << 20) == 1 and libc.mallopt(-1, 2 ** 31 - 1) == 1


def train_step(model, optimizer, images, labels, setting, scaler=None):
    optimizer.zero_grad()
    with torch.autocast(images.device.type, dtype=autocast_dtype(images.device),
                        enabled=setting.autocast):
        logits = model(images)
        loss = F.cross_entropy(logits, labels)
    if scaler is None:
        loss.backward()
        optimizer.step()
    else:
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
    return loss.detach()


def make_trainer(args, setting, device, seed):
    torch.manual_seed(seed)
    model = Cnn().to(device)
    if setting.channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    scaler = torch.amp.GradScaler("cuda") if setting.autocast and device.type == "cuda" else None
    return model, optimizer, scaler


def time_steps(args, x_train, y_train, setting, seed):
    torch.set_num_threads(setting.threads)
    model, optimizer, scaler = make_trainer(args, setting, x_train.device, seed)
    batches = x_train.shape[0] // args.batch_size
    start_time = time.perf_counter()
    for step in range(WARMUP_STEPS + args.bench_steps):
        if step == WARMUP_STEPS:
            sync(x_train.device)
            start_time = time.perf_counter()
        start = step % batches * args.batch_size
        train_step(model, optimizer, x_train[start:start + args.batch_size],
                   y_train[start:start + args.batch_size], setting, scaler)
    sync(x_train.device)
    return 1000.0 * (time.perf_counter() - start_time) / args.bench_steps


def evaluate(model, x, y, setting, inference_mode=True):
    mode = torch.inference_mode() if inference_mode else torch.no_grad()
    with mode, torch.autocast(x.device.type, dtype=autocast_dtype(x.device),
                              enabled=setting.autocast):
        model.eval()
        predicted = torch.cat([model(x[s:s + EVAL_BATCH]).argmax(1)
                               for s in range(0, x.shape[0], EVAL_BATCH)])
        model.train()
    return (predicted == y).sum().item() / x.shape[0], predicted


def train_epoch(trainer, x_train, y_train, args, setting, epoch):
    model, optimizer, scaler = trainer
    torch.set_num_threads(setting.threads)
    start_time = time.perf_counter()
    n = x_train.shape[0]
    order = torch.randperm(n).to(x_train.device)
    loss_sum = torch.zeros((), device=x_train.device)
    for step, start in enumerate(range(0, n, args.batch_size), 1):
        index = order[start:start + args.batch_size]
        loss_sum += train_step(model, optimizer, x_train[index], y_train[index],
                               setting, scaler)
        if step % LOG_EVERY == 0 and not math.isfinite(loss_sum.item()):
            raise SystemExit(f"error: loss became nan at epoch {epoch}; lower --lr (now {args.lr})")
    sync(x_train.device)
    return time.perf_counter() - start_time


def train(args, data, setting, epochs, seed):
    trainer = make_trainer(args, setting, data[0].device, seed)
    total, accuracy = 0.0, 0.0
    for epoch in range(1, epochs + 1):
        seconds = train_epoch(trainer, data[0], data[1], args, setting, epoch)
        accuracy, _ = evaluate(trainer[0], data[2], data[3], setting)
        total += seconds / epochs
        print(f"{setting.name:<28} epoch {epoch}/{epochs} | {seconds:5.1f}s | test acc "
              f"{accuracy:.4f}", flush=True)
    return total, accuracy


def run(args):
    if args.smoke:
        args.bench_steps = min(args.bench_steps, 3)
    profile_steps = 3 if args.smoke else 20
    device, out = course_common.begin(args, LESSON)
    threads = torch.get_num_threads()
    train_images, y_train = course_common.load_fashion(args, train=True)
    test_images, y_test = course_common.load_fashion(args, train=False)
    data = (course_common.normalize_fashion(train_images).to(device), y_train.to(device),
            course_common.normalize_fashion(test_images).to(device), y_test.to(device))
    print(f"data: {data[0].shape[0]} train, {data[2].shape[0]} test images; batch "
          f"{args.batch_size}")

    step_gflop = training_flops_per_image() * args.batch_size / 1e9
    n = 512 if args.smoke else 2048
    peak32 = matmul_gflops(torch.float32, device, n, 5)
    half_dtype = autocast_dtype(device)
    peak16 = matmul_gflops(half_dtype, device, n, 5)
    half = "BFloat16" if half_dtype == torch.bfloat16 else "Half"  # c10::toString's names
    print(f"work: {forward_macs()} multiply-adds per image forward, {step_gflop:.2f} GFLOP per "
          f"training step")
    print(f"peak: {n}x{n} matmul {peak32:.0f} GFLOP/s in fp32, {peak16:.0f} in {half}")

    fp32 = Setting("fp32 (lesson 08)", threads)
    model, optimizer, scaler = make_trainer(args, fp32, device, args.seed)
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        for _ in range(profile_steps):
            train_step(model, optimizer, data[0][:args.batch_size], data[1][:args.batch_size],
                       fp32)
    profile = seconds_by_class(prof.events())
    total = sum(profile.values())
    print(f"profile of {profile_steps} fp32 steps ({1000 * total / profile_steps:.1f} ms per "
          f"step, {step_gflop * profile_steps / total:.0f} GFLOP/s = "
          f"{100 * step_gflop * profile_steps / total / peak32:.0f}% of the fp32 peak):")
    for op, seconds in profile.items():
        print(f"  {op:<12} {100 * seconds / total:5.1f}%")

    slow_epoch, slow_acc = train(args, data, fp32, args.epochs, args.seed)

    settings = [fp32, Setting("fp32, 1 thread", 1)]
    ms = [time_steps(args, data[0], data[1], s, args.seed) for s in settings]
    tuned = keep_freed_memory()
    for s in [Setting("+ malloc thresholds", threads),
              Setting("+ channels_last", threads, True),
              Setting(f"+ {half} autocast", threads, True, True),
              Setting(f"{half} autocast, NCHW", threads, False, True)]:
        settings.append(s)
        ms.append(time_steps(args, data[0], data[1], s, args.seed))
    best = min(range(2, len(ms)), key=lambda i: ms[i])

    fast_epoch, fast_acc = train(args, data, settings[best], args.epochs, args.seed)
    model = make_trainer(args, settings[best], device, args.seed)[0]
    start = time.perf_counter()
    evaluate(model, data[2], data[3], settings[best], inference_mode=False)
    no_grad_ms = 1000 * (time.perf_counter() - start)
    start = time.perf_counter()
    evaluate(model, data[2], data[3], settings[best], inference_mode=True)
    inference_ms = 1000 * (time.perf_counter() - start)

    print(f"malloc thresholds {'set' if tuned else 'NOT set (not glibc?)'}")
    print(f"{'step (batch ' + str(args.batch_size) + ')':<28} {'ms':>8} {'GFLOP/s':>8} "
          f"{'% of peak':>10} {'speed-up':>9}")
    for s, t in zip(settings, ms):
        gflops = step_gflop / (t / 1000)
        print(f"{s.name:<28} {t:8.1f} {gflops:8.0f} "
              f"{100 * gflops / (peak16 if s.autocast else peak32):9.0f}% {ms[0] / t:8.2f}x")
    print(f"evaluation of {data[2].shape[0]} test images: NoGradGuard {no_grad_ms:.0f} ms, "
          f"InferenceMode {inference_ms:.0f} ms ({no_grad_ms / inference_ms:.2f}x)")
    print(f"epoch: fp32 {slow_epoch:.1f}s, {settings[best].name} {fast_epoch:.1f}s: "
          f"{slow_epoch / fast_epoch:.2f}x faster; test acc {slow_acc:.4f} vs {fast_acc:.4f} "
          f"({100 * (fast_acc - slow_acc):+.2f} points)")
    course_common.result_line(LESSON, epochs=args.epochs, epoch_time_s=fast_epoch,
                              fp32_epoch_time_s=slow_epoch, epoch_speedup=slow_epoch / fast_epoch,
                              test_acc=fast_acc, fp32_test_acc=slow_acc)


# ---- goldens (test.cpp) -------------------------------------------------------------------------
def write_golden():
    cases = {}
    # The hand count, for lesson 08's widths and for a small Cnn.
    cases["flops"] = {
        "inputs": {"widths": torch.tensor([[32, 64, 128, 10], [4, 8, 16, 10]])},
        "outputs": {"forward_macs": torch.tensor([forward_macs(32, 64, 128, 10),
                                                  forward_macs(4, 8, 16, 10)]),
                    "training_flops": torch.tensor(
                        [training_flops_per_image(c1=32, c2=64, hidden=128),
                         training_flops_per_image(c1=4, c2=8, hidden=16)], dtype=torch.float64)},
    }
    # torch.amp.GradScaler on a scripted sequence of gradients, some with inf or NaN: the loss
    # (p * g).sum() gives p the gradient g (times the scale). SGD lr 0.5.
    inf, nan = float("inf"), float("nan")
    grads = [[1.0, -2.0, 0.5], [0.25, 0.5, -1.0], [inf, 1.0, 1.0], [1.0, 1.0, 1.0],
             [0.5, nan, 0.5], [-1.0, 0.5, 2.0], [1.0, 2.0, 3.0], [0.0, -inf, 0.0]]
    p = torch.tensor([0.1, 0.2, 0.3], requires_grad=True)
    start = p.detach().clone()
    optimizer = torch.optim.SGD([p], lr=0.5)
    scaler = torch.amp.GradScaler("cpu", init_scale=16.0, growth_factor=2.0, backoff_factor=0.5,
                                  growth_interval=2)
    scales, params, stepped = [], [], []
    for g in grads:
        optimizer.zero_grad()
        before = p.detach().clone()
        scaler.scale((p * torch.tensor(g)).sum()).backward()
        scaler.step(optimizer)
        scaler.update()
        stepped.append(0.0 if torch.equal(before, p.detach()) else 1.0)
        scales.append(scaler.get_scale())
        params.append(p.detach().clone())
    cases["grad_scaler"] = {
        # JSON has no inf or NaN: grads holds 0 there, and special says which (1 inf, 2 -inf, 3 NaN)
        "inputs": {"grads": torch.tensor(grads).nan_to_num(0.0, 0.0, 0.0),
                   "special": torch.tensor([[0.0 if math.isfinite(v) else 3.0 if v != v else
                                             1.0 if v > 0 else 2.0 for v in g] for g in grads]),
                   "start": start, "lr": 0.5, "init_scale": 16.0,
                   "growth_factor": 2.0, "backoff_factor": 0.5, "growth_interval": 2},
        "outputs": {"scale": torch.tensor(scales, dtype=torch.float64),
                    "stepped": torch.tensor(stepped, dtype=torch.float64),
                    "params": torch.stack(params)},
    }
    import golden  # tests/support/golden.py
    golden.write(LESSON, cases)


def main():
    parser = course_common.parser("19_performance: lesson 08's CNN made faster", epochs=EPOCHS)
    parser.set_defaults(threads=2)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--bench-steps", type=int, default=40)
    args = parser.parse_args()
    if not 1e-6 <= args.lr <= 1.0 or not 1 <= args.batch_size <= 60000 or \
            not 1 <= args.bench_steps <= 100000:
        parser.error("--lr must be in [1e-6, 1], --batch-size in [1, 60000], --bench-steps in "
                     "[1, 100000]")
    if args.golden:
        write_golden()
        return
    run(args)


if __name__ == "__main__":
    main()
