#!/usr/bin/env python3
"""ctest course.translations_selftest: check_translations.py fails each kind of broken pair.

A check that cannot fail proves nothing. This builds a small repository in a temporary folder with
one good English/Chinese lesson pair and one good docs page pair (the checker must pass them), then
breaks the Chinese file, or the list, one way at a time and asserts that the checker fails and
names the file and the rule.

    python3 tests/check_translations_selftest.py REPO
"""
import pathlib
import subprocess
import sys
import tempfile

CHECKER = pathlib.Path(__file__).resolve().parent / "check_translations.py"
LANG = "[English](README.md) | [简体中文](README.zh-CN.md)"

ENGLISH = f"""# Lesson 01: tensors

{LANG}

Train for 6 epochs to reach **0.845** test accuracy in 35 s, 1.19x faster than Python, on
2,841 images. See [the code](main.cpp) and [lesson 02](../02_autograd/README.md).

```sh
./course run 01 -- --seed 7   # other random numbers
```

| flag | default |
|---|---|
| `--epochs` | 6 |
"""

CHINESE = f"""# 第 01 课：张量

{LANG}

训练 6 轮（epoch），用时 35 s，测试准确率达到 **0.845**，比 Python 快 1.19x；共 2,841 张图像。
代码见 [main.cpp](main.cpp)，下一课见 [第 02 课](../02_autograd/README.zh-CN.md)。

```sh
./course run 01 -- --seed 7   # other random numbers
```

| 参数 | 默认值 |
|---|---|
| `--epochs` | 6 |
"""

# A page of docs/: its twin is docs/guide.zh-CN.md, its language line names guide.md.
GUIDE_LANG = "[English](guide.md) | [简体中文](guide.zh-CN.md)"
GUIDE = f"""# Building

{GUIDE_LANG}

A cold build takes 191.7 s; see [lesson 01](../lessons/01_tensors/README.md).

```sh
./course build
```
"""
GUIDE_ZH = f"""# 构建

{GUIDE_LANG}

冷构建用时 191.7 s；见 [第 01 课](../lessons/01_tensors/README.zh-CN.md)。

```sh
./course build
```
"""

# (what is broken, the rule the failure must name, the file it must name, how to break it)
BREAKS = [
    ("a changed code block", "code blocks", "README.zh-CN.md",
     lambda zh, lst: (zh.replace("--seed 7   # other", "--seed 7   # 其他"), lst)),
    ("a missing code block", "code blocks", "README.zh-CN.md",
     lambda zh, lst: (zh.replace(
         "```sh\n./course run 01 -- --seed 7   # other random numbers\n```\n", ""), lst)),
    ("a missing number", "numbers", "README.zh-CN.md",
     lambda zh, lst: (zh.replace("2,841 张", "许多"), lst)),
    ("a number without its unit", "numbers", "README.zh-CN.md",
     lambda zh, lst: (zh.replace("35 s", "35 秒"), lst)),
    ("a dead link", "links", "README.zh-CN.md",
     lambda zh, lst: (zh.replace("(main.cpp)", "(main_zh.cpp)"), lst)),
    ("a dead link to another lesson", "links", "README.zh-CN.md",
     lambda zh, lst: (zh.replace("../02_autograd/", "../02_autograd_zh/"), lst)),
    ("a missing language line", "language", "README.zh-CN.md",
     lambda zh, lst: (zh.replace(LANG + "\n", ""), lst)),
    ("a changed language line", "language", "README.zh-CN.md",
     lambda zh, lst: (zh.replace(LANG, "[English](README.md) | [中文](README.zh-CN.md)"), lst)),
    ("a changed inline code span", "inline code", "README.zh-CN.md",
     lambda zh, lst: (zh.replace("`--epochs`", "`--epoch`"), lst)),
    ("a table with a row less", "tables", "README.zh-CN.md",
     lambda zh, lst: (zh.replace("|---|---|\n| `--epochs` | 6 |\n", "|---|---|\n")
                      + "`--epochs` 6\n", lst)),
    ("a listed README without its twin", "twin", "lessons/03_modules/README.md",
     lambda zh, lst: (zh, lst + "lessons/03_modules/README.md\n")),
]


def make_repo(root, chinese, listing, english=ENGLISH, guide_zh=GUIDE_ZH):
    lesson = root / "lessons" / "01_tensors"
    lesson.mkdir(parents=True)
    (root / "lessons" / "02_autograd").mkdir()
    (root / "lessons" / "02_autograd" / "README.md").write_text("# Lesson 02\n")
    (root / "lessons" / "02_autograd" / "README.zh-CN.md").write_text("# 第 02 课\n")
    (root / "lessons" / "03_modules").mkdir()
    (root / "lessons" / "03_modules" / "README.md").write_text("# Lesson 03\n")
    (lesson / "main.cpp").write_text("int main() {}\n")
    (lesson / "README.md").write_text(english, encoding="utf-8")
    (lesson / "README.zh-CN.md").write_text(chinese, encoding="utf-8")
    (root / "docs").mkdir()
    (root / "docs" / "translations.txt").write_text(listing)
    (root / "docs" / "guide.md").write_text(GUIDE, encoding="utf-8")
    (root / "docs" / "guide.zh-CN.md").write_text(guide_zh, encoding="utf-8")
    (root / "README.md").write_text("# The course\n")


def run(chinese, listing, english=ENGLISH, guide_zh=GUIDE_ZH):
    with tempfile.TemporaryDirectory() as tmp:
        make_repo(pathlib.Path(tmp), chinese, listing, english, guide_zh)
        result = subprocess.run([sys.executable, str(CHECKER), tmp], capture_output=True,
                                text=True, encoding="utf-8")
        return result.returncode, result.stdout + result.stderr


def main():
    failures = []
    listing = "# READMEs with a Chinese twin\nlessons/01_tensors/README.md\ndocs/guide.md\n"
    code, output = run(CHINESE, listing)
    if code != 0:
        failures.append(f"the good pair failed the check:\n{output}")
    elif ("not yet listed in translations.txt (not checked): lessons/03_modules/README.md"
          not in output):
        failures.append(f"the unlisted lesson 03 was not printed:\n{output}")
    elif ("(not checked): lessons/02_autograd/README.md (its README.zh-CN.md exists: list it)"
          not in output):
        failures.append(f"the unlisted lesson 02 with a twin was not printed as such:\n{output}")
    for what, rule, name, breaker in BREAKS:
        chinese, broken_listing = breaker(CHINESE, listing)
        assert (chinese, broken_listing) != (CHINESE, listing), f"{what}: the breaker did nothing"
        code, output = run(chinese, broken_listing)
        if code == 0:
            failures.append(f"{what}: the check passed it:\n{output}")
        elif f"rule '{rule}'" not in output or name not in output:
            failures.append(
                f"{what}: failed, but without naming rule '{rule}' and {name}:\n{output}")
        else:
            message = next(line for line in output.splitlines() if f"rule '{rule}'" in line)
            print(f"caught {what}: {message}")
    # The English file is checked too: a missing language line there fails.
    code, output = run(CHINESE, listing, ENGLISH.replace(LANG + "\n", ""))
    if code == 0 or "lessons/01_tensors/README.md: rule 'language'" not in output:
        failures.append(f"a missing language line in the English file was not caught:\n{output}")
    else:
        print("caught a missing language line in the English file")
    # A docs page follows its own rules: its twin carrying the README's language line fails.
    code, output = run(CHINESE, listing, guide_zh=GUIDE_ZH.replace(GUIDE_LANG, LANG))
    if code == 0 or "docs/guide.zh-CN.md: rule 'language'" not in output:
        failures.append(f"a docs page's twin with the README language line was not caught:\n"
                        f"{output}")
    else:
        print("caught a docs page's twin with the README's language line")
    if failures:
        print("\n\n".join(failures))
        return 1
    print(f"check_translations.py passes the good pairs and fails all {len(BREAKS) + 2} broken "
          "ones")
    return 0


if __name__ == "__main__":
    sys.exit(main())
