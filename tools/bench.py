"""bench.py: each training lesson's full run in C++ and in Python, side by side (./course bench).

For every lesson it runs `bin/<lesson> --threads T` and `reference.py --threads T` one after the
other on the same machine, reads the RESULT line each prints, measures each process's peak
resident memory (the kernel's ru_maxrss for the child), and writes a Markdown table to
docs/benchmarks.md (or --out). Not part of ./course test: timings on a shared machine are noisy,
so they are recorded here, with the machine they ran on, instead of asserted in tests.
"""
import argparse
import datetime
import os
import pathlib
import platform
import re
import subprocess
import sys
import time

REPO = pathlib.Path(__file__).resolve().parent.parent
# Kept by every rerun until someone measures on a GPU and replaces it with numbers.
GPU_SECTION = [
    "## GPU",
    "",
    "Not measured yet: no GPU machine was at hand when this table was made. To measure, build",
    "with the `cuda` preset on a machine with an NVIDIA GPU (docs/docker.md, docs/libtorch.md),",
    "run `COURSE_PRESET=cuda ./course test` (the `*_CUDA` tests then run instead of skipping) and",
    "time the lessons with `--device cuda` against `--device cpu`.",
    "",
]


def benchmarked_lessons():
    """Every lesson folder whose smoke run prints a RESULT line with a time (its expected.txt checks
    one with epoch_time_s or a throughput): the list comes from the folders, so a new training
    lesson is benchmarked without an edit here."""
    def timed(line):
        return line.startswith("RESULT lesson=") and ("epoch_time_s=" in line or "_per_s=" in line)
    return sorted(path.parent.name for path in (REPO / "lessons").glob("[0-9][0-9]_*/expected.txt")
                  if any(timed(line) for line in path.read_text().splitlines()))


def run(command, env):
    """Runs a command; returns (RESULT dict, peak RSS in MiB, wall seconds, output)."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               env=env, cwd=REPO)
    output = process.stdout.read().decode(errors="replace")
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    if process.returncode != 0:
        raise SystemExit(f"error: {' '.join(map(str, command))} failed "
                         f"(exit {process.returncode}):\n{output[-3000:]}")
    result = {}
    for line in output.splitlines():
        if line.startswith("RESULT "):
            for field in line.split()[1:]:
                key, _, value = field.partition("=")
                result[key] = value
    if not result:
        raise SystemExit(f"error: {command[0]} printed no RESULT line:\n{output[-3000:]}")
    return result, usage.ru_maxrss / 1024.0, wall, output


def number(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def machine_description(python):
    cpu = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    torch_version = subprocess.run(
        [python, "-c", "import torch; print(torch.__version__)"], capture_output=True,
        text=True).stdout.strip()
    return cpu, os.cpu_count(), torch_version


def fmt(value, digits=3):
    if value is None:
        return "–"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.{digits}g}"


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bin", required=True, help="folder with the lesson binaries")
    p.add_argument("--python", default=sys.executable, help="Python with the same torch")
    p.add_argument("--threads", type=int, default=2, help="intra-op threads on both sides")
    p.add_argument("--lessons", nargs="*", default=benchmarked_lessons())
    p.add_argument("--smoke", action="store_true", help="pass --smoke (checks the driver only)")
    p.add_argument("--out", default=str(REPO / "docs" / "benchmarks.md"))
    args = p.parse_args()

    # One thread count on both sides, also for OpenMP/MKL pools that read the environment.
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads),
               COURSE_NO_PROGRESS="1")
    extra = ["--threads", str(args.threads)] + (["--smoke"] if args.smoke else [])
    rows = []
    for lesson in args.lessons:
        binary = pathlib.Path(args.bin) / lesson
        reference = REPO / "lessons" / lesson / "reference.py"
        if not binary.exists() or not reference.exists():
            print(f"skipping {lesson}: {binary} or {reference} missing", flush=True)
            continue
        print(f"== {lesson}: C++", flush=True)
        cpp, cpp_rss, cpp_wall, _ = run([str(binary)] + extra, env)
        print(f"   {cpp} peak {cpp_rss:.0f} MiB, {cpp_wall:.1f} s", flush=True)
        print(f"== {lesson}: Python", flush=True)
        py, py_rss, py_wall, _ = run([args.python, str(reference)] + extra, env)
        print(f"   {py} peak {py_rss:.0f} MiB, {py_wall:.1f} s", flush=True)
        rows.append((lesson, cpp, py, cpp_rss, py_rss, cpp_wall, py_wall))

    cpu, cores, torch_version = machine_description(args.python)
    lines = [
        "# Benchmarks: C++ (LibTorch) against Python (PyTorch)",
        "",
        "Written by `./course bench` (tools/bench.py); rerun it to refresh this page. Each lesson's",
        "full run (its default epochs) in C++ and its `reference.py` in Python, one after the other,",
        f"with the same thread count ({args.threads}) on both sides.",
        "",
        f"- Machine: {cpu}, {cores} cores, {platform.system()} {platform.release()}",
        f"- LibTorch / PyTorch: {torch_version} (the same library on both sides)",
        f"- Date: {datetime.date.today().isoformat()}" + ("  (smoke runs only)" if args.smoke else ""),
        "",
        "| lesson | epoch s C++ | epoch s Py | Py/C++ | test acc C++ | test acc Py | samples/s C++ "
        "| samples/s Py | peak RSS MiB C++ | peak RSS MiB Py | outside fwd/bwd/step C++ | Py |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    notes = []
    for lesson, cpp, py, cpp_rss, py_rss, cpp_wall, py_wall in rows:
        ct, pt = number(cpp.get("epoch_time_s")), number(py.get("epoch_time_s"))
        ratio = pt / ct if ct and pt else None
        acc_key = "test_acc" if "test_acc" in cpp else "final_mse"
        lines.append(
            f"| {lesson} | {fmt(ct)} | {fmt(pt)} | {fmt(ratio)} | {fmt(number(cpp.get(acc_key)), 4)} "
            f"| {fmt(number(py.get(acc_key)), 4)} | {fmt(number(cpp.get('train_samples_per_s')))} "
            f"| {fmt(number(py.get('train_samples_per_s')))} | {cpp_rss:.0f} | {py_rss:.0f} "
            f"| {fmt(number(cpp.get('outside_share')), 2)} | {fmt(number(py.get('outside_share')), 2)} |")
        other = sorted(set(cpp) - {"lesson", "epochs", "epoch_time_s", "test_acc",
                                   "train_samples_per_s", "outside_share"})
        if other:
            pairs = ", ".join(f"{k}: C++ {cpp.get(k)} / Py {py.get(k, '–')}" for k in other)
            notes.append(f"- {lesson}: {pairs}")
        notes.append(f"- {lesson}: whole process {cpp_wall:.1f} s C++, {py_wall:.1f} s Python "
                     f"({cpp.get('epochs', '?')} epochs)")
    lines += ["", "Other numbers each lesson reported (RESULT lines):", ""] + notes
    lines += ["", "Columns: *epoch s* is the mean wall time of one training epoch; *Py/C++* above 1",
              "means C++ is faster; *test acc* is the final test accuracy (04 reports its final",
              "MSE instead); *peak RSS* is the process's maximum resident memory; *outside",
              "fwd/bwd/step* is the share of the epoch spent on data handling and logging.", ""]
    lines += GPU_SECTION
    pathlib.Path(args.out).write_text("\n".join(lines))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
