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

import lesson_result

REPO = pathlib.Path(__file__).resolve().parent.parent
# Kept by every rerun until someone measures on a GPU and replaces it with numbers.
GPU_SECTION = [
    "## GPU",
    "",
    "Not measured yet: no GPU machine was at hand so far. `tools/gpu-check pack` here, then",
    "`tools/gpu-check run` on the GPU machine, runs every test (the `*_CUDA` ones included) and",
    "each training lesson on `cuda` and `cpu`, and writes the table to paste here",
    "(docs/building.md, \"The GPU check\"). On a machine with a GPU that can build the course,",
    "`./course test` runs the `*_CUDA` tests itself.",
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
    result = lesson_result.parse(output)
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
        # The 1-minute load average as this lesson's Python run ends: above the thread count
        # means something else shared the cores (niced jobs count too), and the times say less.
        rows.append((lesson, cpp, py, cpp_rss, py_rss, cpp_wall, py_wall, os.getloadavg()[0]))

    cpu, cores, torch_version = machine_description(args.python)
    today = datetime.date.today().isoformat() + (" smoke" if args.smoke else "")
    machine = f"{cpu}, {cores} cores, {platform.system()} {platform.release()}, torch {torch_version}"
    out = pathlib.Path(args.out)
    old_rows, old_notes, kept_text = read_page(out)
    for lesson, cpp, py, cpp_rss, py_rss, cpp_wall, py_wall, load in rows:
        old_rows[lesson] = table_row(lesson, today, cpp, py, cpp_rss, py_rss, cpp_wall, py_wall)
        old_notes[lesson] = note_lines(lesson, cpp, py, load)
    write_page(out, args.threads, machine, today, old_rows, old_notes, kept_text, rerun=[r[0] for r in rows])
    print(f"wrote {out}")
    twin = out.with_name(out.stem + ".zh-CN.md")
    if copy_block(out, twin):
        print(f"wrote the same block into {twin}")


BEGIN, END = "<!-- bench:begin (written by tools/bench.py) -->", "<!-- bench:end -->"
HEADER = ("| lesson | measured | epoch s C++ | epoch s Py | whole run s C++ | whole run s Py | Py/C++ "
          "| result | C++ | Py | throughput C++ | throughput Py | peak RSS MiB C++ | peak RSS MiB Py "
          "| outside fwd/bwd/step C++ | Py |")
THROUGHPUT_KEYS = [("train_samples_per_s", "samples/s"), ("train_tokens_per_s", "tokens/s")]


def table_row(lesson, date, cpp, py, cpp_rss, py_rss, cpp_wall, py_wall):
    """One lesson's row. Py/C++ compares epoch times where both report one, else whole runs."""
    ct, pt = number(cpp.get("epoch_time_s")), number(py.get("epoch_time_s"))
    ratio = pt / ct if ct and pt else py_wall / cpp_wall
    key = lesson_result.quality_key(cpp)
    rate, unit = next(((k, u) for k, u in THROUGHPUT_KEYS if k in cpp), (None, ""))
    def throughput(side):
        value = number(side.get(rate)) if rate else None
        return f"{fmt(value)} {unit}" if value is not None else "–"
    return (f"| {lesson} | {date} | {fmt(ct)} | {fmt(pt)} | {cpp_wall:.1f} | {py_wall:.1f} | {fmt(ratio)} "
            f"| {key or '–'} | {fmt(number(cpp.get(key)), 4)} | {fmt(number(py.get(key)), 4)} "
            f"| {throughput(cpp)} | {throughput(py)} | {cpp_rss:.0f} | {py_rss:.0f} "
            f"| {fmt(number(cpp.get('outside_share')), 2)} | {fmt(number(py.get('outside_share')), 2)} |")


def note_lines(lesson, cpp, py, load):
    shown = {"lesson", "epochs", "steps", "epoch_time_s", "outside_share",
             *lesson_result.QUALITY_KEYS,
             *(k for k, _ in THROUGHPUT_KEYS)}
    other = sorted(set(cpp) - shown)
    lines = []
    if other:
        lines.append(f"- {lesson}: " + ", ".join(f"{k}: C++ {cpp.get(k)} / Py {py.get(k, '–')}"
                                                 for k in other))
    lines.append(f"- {lesson}: {cpp.get('epochs', cpp.get('steps', '?'))} "
                 f"{'epochs' if 'epochs' in cpp else 'steps'}; load average "
                 f"{load:.1f} when it ended")
    return lines


def read_page(path):
    """The rows and notes of lessons measured before (kept when only some lessons are rerun) and
    the hand-written text around the generated block."""
    rows, notes, kept = {}, {}, ("", "")
    if not path.exists():
        return rows, notes, kept
    text = path.read_text()
    if BEGIN not in text or END not in text:
        head, heading, tail = text.partition("\n## ")
        return rows, notes, (head + "\n", heading.lstrip("\n") + tail)
    before, rest = text.split(BEGIN, 1)
    block, after = rest.split(END, 1)
    for line in block.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| ") and re.match(r"^[0-9][0-9]_", cells[0]) and len(cells) == 16:
            rows[cells[0]] = line
        match = re.match(r"^- ([0-9][0-9]_[a-z0-9_]+): ", line)
        if match:
            notes.setdefault(match.group(1), []).append(line)
    return rows, notes, (before, after)


def write_page(path, threads, machine, today, rows, notes, kept, rerun):
    before, after = kept
    if not before:
        before = ("# Benchmarks: C++ (LibTorch) against Python (PyTorch)\n\n"
                  "The block below is written by `./course bench` (tools/bench.py); the text around it is\n"
                  "written by hand and kept when the block is rewritten.\n\n")
    block = [
        "",
        f"Each lesson's full run (its default epochs) in C++ and its `reference.py` in Python, one "
        f"after the other, with the same thread count ({threads}) on both sides. `./course bench "
        "--lessons NN_topic ...` reruns some lessons and keeps the others' rows with their dates.",
        "",
        f"- Last run: {today}, lessons {', '.join(rerun) or 'none'}",
        f"- Machine: {machine}",
        "",
        HEADER,
        "|" + "---|" * (HEADER.count("|") - 1),
    ]
    block += [rows[k] for k in sorted(rows)]
    block += ["", "Other numbers each lesson reported (RESULT lines):", ""]
    for lesson in sorted(notes):
        block += notes[lesson]
    block += ["", "Columns: *epoch s* is the mean wall time of one training epoch; *whole run s* the",
              "process from start to end; *Py/C++* above 1 means C++ is faster (epoch times where",
              "both have them, else whole runs); *result* names the lesson's final number (test",
              "accuracy, validation loss or MSE); *peak RSS* is the process's maximum resident",
              "memory; *outside fwd/bwd/step* is the share of the epoch spent on data and logging.",
              ""]
    text = before.rstrip("\n") + "\n\n" + BEGIN + "\n" + "\n".join(block) + "\n" + END + "\n"
    after = after.strip("\n")
    if "## GPU" not in after:
        after = (after + "\n\n" if after else "") + "\n".join(GPU_SECTION)
    path.write_text(text + "\n" + after.rstrip("\n") + "\n")


def copy_block(page, twin):
    """The generated block of `page`, word for word, into its translation `twin` (the Chinese page
    keeps its own hand-written text around the block, and the numbers of both stay the same).
    False when the twin is missing or has no block."""
    if not twin.exists():
        return False
    text = twin.read_text()
    if BEGIN not in text or END not in text:
        return False
    block = page.read_text().split(BEGIN, 1)[1].split(END, 1)[0]
    before, rest = text.split(BEGIN, 1)
    twin.write_text(before + BEGIN + block + END + rest.split(END, 1)[1])
    return True


if __name__ == "__main__":
    main()
