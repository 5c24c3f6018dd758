#!/usr/bin/env python3
"""Every ctest label that docs/building.md documents selects what it names (course.labels).

usage: check_labels.py SOURCE_DIR BUILD_DIR CTEST

It reads the label list from docs/building.md's line `ctest ... -L unit  # labels: a, b, ...`,
lists each label's tests with `ctest -N -L ^label$`, and fails when a label selects nothing, when
a test named *_CUDA is missing from `-L cuda`, or a lesson's smoke run from `-L lesson`. A label
list passed where ctest expects key/value pairs once left `-L cuda` empty while the docs promised
the CUDA tests: this is the check that would have caught it.
"""
import pathlib
import re
import subprocess
import sys


def tests(ctest, build, *args):
    run = subprocess.run([ctest, "--test-dir", build, "-N", *args], capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f"`ctest -N {' '.join(args)}` exited with {run.returncode}:\n"
                 f"{run.stderr[-3000:]}\n{run.stdout[-1500:]}")
    return {m.group(1) for m in re.finditer(r"^\s*Test\s+#\d+: (\S+)", run.stdout, re.M)}


def main():
    source, build, ctest = sys.argv[1:4]
    doc = open(f"{source}/docs/building.md", encoding="utf-8").read()
    match = re.search(r"# labels: ([^\n]*)", doc)
    if not match:
        sys.exit("docs/building.md has no '# labels: ...' line to check")
    labels = re.findall(r"\b([a-z]+)\b(?![^(]*\))", match.group(1))
    everything = tests(ctest, build)
    failures = []
    for label in labels:
        selected = tests(ctest, build, "-L", f"^{label}$")
        print(f"-L {label}: {len(selected)} tests")
        if not selected:
            failures.append(f"`ctest -L {label}` (documented in docs/building.md) selects no test")
        if label == "cuda":
            missing = sorted(t for t in everything if t.endswith("_CUDA") and t not in selected)
            if missing:
                failures.append(f"*_CUDA tests without the cuda label: {', '.join(missing)}")
        if label == "lesson":  # every lesson folder's smoke run, at least
            folders = sorted(p.name for p in pathlib.Path(source, "lessons").glob("[0-9][0-9]_*")
                             if (p / "expected.txt").exists())
            missing = [f"lesson.{f}" for f in folders if f"lesson.{f}" not in selected]
            if missing:
                failures.append(f"lesson runs without the lesson label: {', '.join(missing)}")
    if failures:
        sys.exit("\n".join(failures))
    print(f"every documented label ({', '.join(labels)}) selects what it names")


if __name__ == "__main__":
    main()
