#!/usr/bin/env python3
"""ctest course.lesson_index: the README's lesson table lists every lesson folder, once, in order.

The folders are the truth: `./course list`, `./course bench` and CMake all read them. The README's
table is written by hand, so this test fails when it and the folders disagree.

    python3 tests/check_lesson_index.py REPO
"""
import pathlib
import re
import sys


def main():
    repo = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()
    folders = sorted(p.name for p in (repo / "lessons").iterdir()
                     if p.is_dir() and re.fullmatch(r"\d\d_[a-z0-9_]+", p.name))
    rows = re.findall(r"^\| \[(\d\d_[a-z0-9_]+)\]\(lessons/(\d\d_[a-z0-9_]+)/?\) \|",
                      (repo / "README.md").read_text(), flags=re.M)
    problems = []
    for name, link in rows:
        if name != link:
            problems.append(f"README row [{name}] links to lessons/{link}")
    table = [name for name, _ in rows]
    for name in folders:
        if name not in table:
            problems.append(f"lessons/{name} is missing from the README's lesson table")
    for name in table:
        if name not in folders:
            problems.append(f"the README's lesson table lists {name}, which has no folder")
        if table.count(name) > 1:
            problems.append(f"the README's lesson table lists {name} {table.count(name)} times")
    if not problems and table != folders:
        problems.append(f"the README's lesson table is not in lesson order: {table}")
    if problems:
        print("\n".join(problems))
        return 1
    print(f"README lesson table: the {len(folders)} lessons, in order")
    return 0


if __name__ == "__main__":
    sys.exit(main())
