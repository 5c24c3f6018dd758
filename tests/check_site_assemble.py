#!/usr/bin/env python3
"""ctest course.site_assemble: site/assemble.py lays out the website's sources as docs/site.md says.

Standard library only, no MkDocs, no browser: it builds a small repository in a temporary folder
(four lessons: one in both languages with pictures from two runs and a test run, one in English
only whose pictures come from the test suite's smoke run, one that draws no pictures, one never
run) and checks what assemble.py writes: the pages, the English-only note, the rewritten links,
the Python/C++ pairs, the newest run's pictures, the sentence for a lesson never run, and the
navigation in lesson order.

    python3 tests/check_site_assemble.py REPO
"""
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

LANG = "[English](README.md) | [简体中文](README.zh-CN.md)"

LESSON_01 = f"""# Lesson 01: a

{LANG}

Files: [`main.cpp`](main.cpp), then [lesson 02](../02_b/README.md), and
[the build](../../docs/building.md#by-hand). Not a link: `[x](main.cpp)`.

## Run it

```sh
./course run 01
```

## 1. Pairs

```python
y = x + 1
```

```cpp
auto y = x + 1;
```

```text
[inside a fence](main.cpp)
```
"""

LESSON_01_ZH = LESSON_01.replace("# Lesson 01: a", "# 第 01 课：甲").replace(
    "## Run it", "## 运行")


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def png(path, age_s):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x89PNG\r\n\x1a\n")
    t = time.time() - age_s
    os.utime(path, (t, t))


def main():
    repo_root = pathlib.Path(sys.argv[1]).resolve()
    assemble = repo_root / "site" / "assemble.py"
    failures = []

    def expect(ok, what):
        print(f"  {'ok  ' if ok else 'FAIL'} {what}")
        if not ok:
            failures.append(what)

    with tempfile.TemporaryDirectory() as tmp:
        root = pathlib.Path(tmp) / "repo"
        build = root / "build" / "release"
        out = root / "build" / "site-src"
        write(root / "README.md",
              f"# Course\n\n{LANG}\n\n[01](lessons/01_a) [zh](lessons/01_a/README.zh-CN.md)\n")
        write(root / "README.zh-CN.md",
              f"# 课程\n\n{LANG}\n\n[01](lessons/01_a) [构建](docs/building.zh-CN.md#手动构建)\n")
        write(root / "docs" / "building.md", "# Building\n\n## By hand\n\n[home](../README.md)\n")
        write(root / "docs" / "building.zh-CN.md", "# 构建\n\n[English](building.md) | "
              "[简体中文](building.zh-CN.md)\n\n## 手动构建\n\n[首页](../README.zh-CN.md)\n")
        write(root / "docs" / "extra.md", "# Extra\n")
        write(root / "lessons" / "01_a" / "README.md", LESSON_01)
        write(root / "lessons" / "01_a" / "README.zh-CN.md", LESSON_01_ZH)
        write(root / "lessons" / "01_a" / "main.cpp", 'save("loss.png");\n')
        write(root / "lessons" / "02_b" / "README.md", "# Lesson 02: b\n\n## Run it\n\ntext\n")
        write(root / "lessons" / "02_b" / "main.cpp", 'save("b.png");\n')
        write(root / "lessons" / "03_c" / "README.md", "# Lesson 03: c\n\n## Run it\n")
        write(root / "lessons" / "03_c" / "README.zh-CN.md", "# 第 03 课：丙\n\n## 运行\n")
        write(root / "lessons" / "03_c" / "main.cpp", "int main() {}\n")
        write(root / "lessons" / "04_d" / "README.md", "# Lesson 04: d\n\n## Run it\n")
        write(root / "lessons" / "04_d" / "main.cpp", 'save("d.png");\n')
        write(root / "lessons" / "not_a_lesson" / "README.md", "# no\n")
        # 01: two runs of the learner's and a newer smoke run: the newest of the learner's wins
        png(build / "out" / "01_a" / "run_1" / "old.png", 300)
        png(build / "out" / "01_a" / "run_2" / "new.png", 200)
        png(build / "test-workdir" / "01_a" / "out" / "run_1" / "smoke.png", 10)
        # 02: only the test suite's smoke run
        png(build / "test-workdir" / "02_b" / "out" / "run_1" / "b.png", 10)

        r = subprocess.run([sys.executable, str(assemble), "--root", str(root), "--build",
                            str(build), "--out", str(out)], capture_output=True, text=True)
        print(r.stdout, r.stderr, sep="")
        expect(r.returncode == 0, f"assemble.py exits 0 (got {r.returncode})")
        if r.returncode:
            return 1
        docs = out / "docs"
        read = lambda p: (docs / p).read_text(encoding="utf-8")  # noqa: E731
        l1, l1zh = read("lessons/01_a/index.md"), read("lessons/01_a/index.zh.md")
        expect(LANG not in l1 and LANG not in l1zh, "the README's language line is left out")
        expect("[`main.cpp`](../../files/lessons/01_a/main.cpp)" in l1
               and (docs / "files/lessons/01_a/main.cpp").is_file(),
               "a link to a source file points at its copy on the site")
        expect("[lesson 02](../02_b/index.md)" in l1,
               "a link to another lesson's README points at its page")
        expect("[the build](../../docs/building.md#by-hand)" in l1,
               "a link to a doc keeps its anchor")
        expect("`[x](main.cpp)`" in l1 and "[inside a fence](main.cpp)" in l1,
               "links in inline code and in fences are left alone")
        expect('<div class="grid side-by-side" markdown>' in l1 and '```python title="Python"' in l1
               and '```cpp title="C++"' in l1,
               "a Python block followed by a C++ block becomes a pair")
        expect("[01](lessons/01_a/index.md)" in read("index.md")
               and "[zh](lessons/01_a/index.md)" in read("index.md"),
               "the home page links lesson pages")
        expect("[home](../index.md)" in read("docs/building.md"), "a doc links the home page")
        expect("[构建](docs/building.md#手动构建)" in read("index.zh.md")
               and "[首页](../index.md)" in read("docs/building.zh.md")
               and read("docs/building.zh.md").startswith("# 构建"),
               "docs/NAME.zh-CN.md is the Chinese twin of docs/NAME.md, and links to it work")
        expect("English only" in read("docs/extra.zh.md"),
               "a doc without a Chinese twin gets a Chinese page marked English only")
        pics = sorted(p.name for p in (docs / "lessons/01_a/pictures").iterdir())
        expect(pics == ["new.png"],
               f"lesson 01 shows the newest of the learner's runs (got {pics})")
        expect("build/release/out/01_a/run_2" in l1 and "build/release/out/01_a/run_2" in l1zh,
               "both languages name the run folder")
        expect(l1.index("## Pictures from a run") < l1.index("## 1. Pairs")
               and l1zh.index("## 运行结果图") < l1zh.index("## 1. Pairs"),
               "the pictures come after the first section (Run it)")
        l2, l2zh = read("lessons/02_b/index.md"), read("lessons/02_b/index.zh.md")
        expect((docs / "lessons/02_b/pictures/b.png").is_file() and "--smoke" in l2,
               "lesson 02 shows the smoke run's pictures and says they are from one")
        expect("English only" in l2zh and "# Lesson 02: b" in l2zh.splitlines()[0],
               "a lesson without README.zh-CN.md gets a Chinese page marked English only")
        l3 = read("lessons/03_c/index.md")
        expect("Pictures" not in l3 and not (docs / "lessons/03_c/pictures").exists(),
               "a lesson that draws no pictures gets no pictures section")
        l4, l4zh = read("lessons/04_d/index.md"), read("lessons/04_d/index.zh.md")
        expect("`./course run 04`" in l4 and "`./course run 04`" in l4zh,
               "a lesson never run says which command makes its pictures")
        config = (out / "mkdocs.yml").read_text(encoding="utf-8")
        nav_line = next(l for l in config.splitlines() if l.startswith("nav: "))
        nav = json.loads(nav_line[5:])
        order = [f"lessons/{l}/index.md" for l in ("01_a", "02_b", "03_c", "04_d")]
        expect(nav[1]["Lessons"] == order,
               "the navigation lists the lessons in order, and only lesson folders")
        summary = json.loads((out / "assembled.json").read_text(encoding="utf-8"))
        expect(nav[2]["Docs"] == ["docs/building.md", "docs/extra.md"],
               "the docs are in the navigation once each (not their .zh-CN.md twins)")
        expect(summary["english_only"] == ["02_b", "04_d", "docs/extra.md"],
               "assembled.json lists the English-only lessons")
    if failures:
        print(f"FAILED: {len(failures)} check(s)")
        return 1
    print("site/assemble.py: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
