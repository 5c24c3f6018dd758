#!/usr/bin/env python3
"""ctest course.translations: each listed README.md and its Chinese twin README.zh-CN.md agree.

docs/translations.txt lists the READMEs (one path per line, relative to the repository) that have
a Chinese twin beside them, and the pages docs/NAME.md whose twin is docs/NAME.zh-CN.md. For every
listed one this check enforces the shared rules (docs/writing-a-lesson.md, "The Chinese README"):

  twin         README.zh-CN.md exists beside the listed README.md (NAME.zh-CN.md beside NAME.md)
  language     the second non-empty line of both files (right under the `# ` title) is exactly
               [English](README.md) | [简体中文](README.zh-CN.md)
               ([English](NAME.md) | [简体中文](NAME.zh-CN.md) for docs/NAME.md)
  code blocks  the fenced code blocks are identical, character for character, in the same order
  inline code  the multiset of inline code spans (outside code blocks) is the same
  numbers      every number of the English prose and tables (0.932, 35 s, 1.19x, 2,841, 5 %)
               is somewhere in the Chinese prose and tables
  tables       the tables have the same shape: same number of rows, same cells in each row
  links        every relative link (and image) in either file resolves from the file's folder

A README of the top level or of a lesson folder that is not listed yet is printed, not failed:
the list grows as the translations are written (so is a docs/NAME.md whose twin exists). Each
failure names the file, the rule and the first difference.

    python3 tests/check_translations.py REPO [--list FILE] [--only PATH ...]
"""
import argparse
import collections
import os
import pathlib
import re
import sys
import urllib.parse

LANGUAGE_LINE = "[English](README.md) | [简体中文](README.zh-CN.md)"
TWIN_NAME = "README.zh-CN.md"
TWIN_SUFFIX = ".zh-CN.md"  # docs/NAME.md has the twin docs/NAME.zh-CN.md

FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})(.*)$")
# An inline code span: a run of n backticks, content without a blank line, n backticks.
CODE_SPAN = re.compile(r"(?<!`)(`+)(?!`)((?:(?!\n[ \t]*\n).)+?)(?<!`)\1(?!`)", re.S)
# [text](target "title") and ![alt](target); <target> allowed.
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]"  # [text], one level of [nested]
                  r"\(\s*(<[^>\n]*>|[^)\s]*)(?:\s+(?:\"[^\"\n]*\"|'[^'\n]*'))?\s*\)")
REFERENCE = re.compile(r"^ {0,3}\[[^\]]+\]:\s*(<[^>\n]*>|\S+)", re.M)
HTML_TARGET = re.compile(r"\b(?:src|href)\s*=\s*\"([^\"]*)\"")
URL = re.compile(r"(?:https?|ftp)://[^\s)>\]]+")
HTML_COMMENT = re.compile(r"<!--.*?-->", re.S)
# A number: 2,841 / 0.932 / 70 000 / 12, with an optional unit written right after it (35 s, 1.19x,
# 5 %, 3 GB). Not a piece of an identifier (fp16, x86_64, 01_tensors) and not followed by letters
# (1st, 2nd).
NUMBER = re.compile(
    r"(?<![A-Za-z0-9_.,])"
    r"(?:\d{1,3}(?: \d{3})+(?![\d.,])|\d+(?:[.,]\d+)*)"
    r"(?:[ \t]?%|[x×](?![A-Za-z0-9])"
    r"|[ \t]?(?:ms|µs|us|ns|s|min|h|GiB|MiB|KiB|GB|MB|KB|kB|B)(?![A-Za-z]))?"
    r"(?![A-Za-z0-9_])")


def blank(text, start, end):
    """text with [start, end) replaced by spaces, newlines kept (so line numbers stay)."""
    return text[:start] + re.sub(r"[^\n]", " ", text[start:end]) + text[end:]


def line_of(text, index):
    return text.count("\n", 0, index) + 1


class Doc:
    """A Markdown file taken apart: code blocks, inline code, links, numbers, tables."""

    def __init__(self, path):
        self.path = path
        self.text = path.read_text(encoding="utf-8")
        lines = self.text.split("\n")
        self.blocks = []  # (first line number, info string, [content lines])
        prose = []
        fence = None
        for number, line in enumerate(lines, 1):
            match = FENCE.match(line)
            if fence is None:
                if match and not (match.group(2)[0] == "`" and "`" in match.group(3)):
                    fence = (match.group(1), match.group(2))
                    self.blocks.append((number, match.group(3).strip(), []))
                    prose.append("")
                else:
                    prose.append(line)
            else:
                indent, marks = fence
                closing = re.match(r"^\s*(`{3,}|~{3,})\s*$", line)
                if (closing and closing.group(1)[0] == marks[0]
                        and len(closing.group(1)) >= len(marks)):
                    fence = None
                else:
                    content = line[len(indent):] if line.startswith(indent) else line.lstrip()
                    self.blocks[-1][2].append(content)
                prose.append("")
        if fence is not None:
            self.unclosed = self.blocks[-1][0]
        else:
            self.unclosed = None
        prose_text = HTML_COMMENT.sub(lambda m: re.sub(r"[^\n]", " ", m.group()), "\n".join(prose))
        # Inline code spans, then blank them so nothing inside them counts as a link or number.
        self.spans = []  # (content, line)
        rest = prose_text
        for match in CODE_SPAN.finditer(prose_text):
            content = match.group(2).replace("\n", " ")
            if content.startswith(" ") and content.endswith(" ") and content.strip():
                content = content[1:-1]
            self.spans.append((content, line_of(prose_text, match.start())))
            rest = blank(rest, match.start(), match.end())
        self.prose_lines = prose
        # Links: targets, then blank the targets so the numbers in paths and URLs do not count.
        self.links = []  # (target, line)
        for pattern in (LINK, REFERENCE, HTML_TARGET):
            for match in pattern.finditer(rest):
                target = match.group(1).strip("<>")
                self.links.append((target, line_of(rest, match.start())))
        self.links.sort(key=lambda link: link[1])
        for pattern in (LINK, REFERENCE, HTML_TARGET):
            for match in pattern.finditer(rest):
                rest = blank(rest, match.start(1), match.end(1))
        for match in URL.finditer(rest):
            rest = blank(rest, match.start(), match.end())
        self.numbers = []  # (number without spaces, as written, line)
        for match in NUMBER.finditer(rest):
            if re.fullmatch(r"\d+s", match.group()):
                continue  # "the 1s", "the 1990s": a plural, not seconds (seconds: "35 s", "0.2s")
            self.numbers.append((re.sub(r"[ \t]", "", match.group()), match.group(),
                                 line_of(rest, match.start())))
        # Tables: runs of lines starting with |; the cells of each row (escaped \| is no cell).
        self.tables = []  # (first line, [cells per row])
        current = None
        for number, line in enumerate(rest.split("\n"), 1):
            stripped = line.strip()
            if stripped.startswith("|"):
                cells = len(re.split(r"(?<!\\)\|", stripped.strip("|"))) if stripped != "|" else 0
                if current is None:
                    current = (number, [])
                    self.tables.append(current)
                current[1].append(cells)
            else:
                current = None

    def nonempty(self, n):
        """The n-th non-empty line (1-based) and its line number."""
        seen = 0
        for number, line in enumerate(self.text.split("\n"), 1):
            if line.strip():
                seen += 1
                if seen == n:
                    return line, number
        return None, None


def shorten(text, width=100):
    text = repr(text)
    return text if len(text) <= width else text[:width - 4] + "...'"


def twin_of(rel):
    """(the twin's name, the language line) of a path that may be listed, or None.

    A README.md anywhere (twin README.zh-CN.md), or a page right in docs/, docs/NAME.md (twin
    docs/NAME.zh-CN.md)."""
    path = pathlib.PurePosixPath(rel)
    if path.name == "README.md":
        return TWIN_NAME, LANGUAGE_LINE
    if (path.parent == pathlib.PurePosixPath("docs") and path.suffix == ".md"
            and not path.name.endswith(TWIN_SUFFIX)):
        twin = path.stem + TWIN_SUFFIX
        return twin, f"[English]({path.name}) | [简体中文]({twin})"
    return None


def check_language(doc, rel, language_line=LANGUAGE_LINE):
    problems = []
    title, _ = doc.nonempty(1)
    line, number = doc.nonempty(2)
    if title is None or not title.startswith("# "):
        problems.append(f"{rel}: rule 'language': the first non-empty line is not a '# ' title: "
                        f"{shorten(title)}")
    if line != language_line:
        problems.append(f"{rel}: rule 'language': the second non-empty line (line {number}) is "
                        f"{shorten(line)}, not {language_line!r}")
    return problems


def check_blocks(en, zh, rel, zh_rel):
    problems = []
    for doc, name in ((en, rel), (zh, zh_rel)):
        if doc.unclosed:
            problems.append(f"{name}: rule 'code blocks': the code block opened at line "
                            f"{doc.unclosed} is never closed")
    for i, (a, b) in enumerate(zip(en.blocks, zh.blocks), 1):
        if a[1:] == b[1:]:
            continue
        detail = f"info string {a[1]!r} against {b[1]!r}" if a[1] != b[1] else ""
        if not detail:
            for k in range(max(len(a[2]), len(b[2]))):
                la = a[2][k] if k < len(a[2]) else "<end of block>"
                lb = b[2][k] if k < len(b[2]) else "<end of block>"
                if la != lb:
                    detail = f"its line {k + 1}: English {shorten(la)}, Chinese {shorten(lb)}"
                    break
        problems.append(f"{zh_rel}: rule 'code blocks': code block {i} (English line {a[0]}, "
                        f"Chinese line {b[0]}) differs: {detail}")
        return problems
    if len(en.blocks) != len(zh.blocks):
        if len(en.blocks) > len(zh.blocks):
            first = en.blocks[len(zh.blocks)]
            where = f"the first missing one is at English line {first[0]}: {shorten(first[2][:1])}"
        else:
            first = zh.blocks[len(en.blocks)]
            where = f"the first extra one is at Chinese line {first[0]}: {shorten(first[2][:1])}"
        problems.append(f"{zh_rel}: rule 'code blocks': English has {len(en.blocks)} code blocks, "
                        f"Chinese {len(zh.blocks)}; {where}")
    return problems


def check_spans(en, zh, zh_rel):
    en_count = collections.Counter(c for c, _ in en.spans)
    zh_count = collections.Counter(c for c, _ in zh.spans)
    if en_count == zh_count:
        return []
    missing = en_count - zh_count
    extra = zh_count - en_count
    parts = []
    if missing:
        content, line = next((c, n) for c, n in en.spans if c in missing)
        parts.append(f"`{content}` (English line {line}) is missing from the Chinese file "
                     f"({sum(missing.values())} missing in all)")
    if extra:
        content, line = next((c, n) for c, n in zh.spans if c in extra)
        parts.append(f"`{content}` (Chinese line {line}) is not in the English file "
                     f"({sum(extra.values())} extra in all)")
    return [f"{zh_rel}: rule 'inline code': the inline code spans differ: " + "; ".join(parts)]


def check_numbers(en, zh, zh_rel):
    present = {n for n, _, _ in zh.numbers}
    missing = []
    seen = set()
    for number, written, line in en.numbers:
        if number not in present and number not in seen:
            seen.add(number)
            missing.append((written, line))
    if not missing:
        return []
    listed = ", ".join(f"{n} (line {line})" for n, line in missing[:8])
    more = f" and {len(missing) - 8} more" if len(missing) > 8 else ""
    return [f"{zh_rel}: rule 'numbers': {len(missing)} number(s) of the English file are not in "
            f"the Chinese file, first {missing[0][0]!r} at English line {missing[0][1]}: "
            f"{listed}{more}"]


def check_tables(en, zh, zh_rel):
    for i, (a, b) in enumerate(zip(en.tables, zh.tables), 1):
        if a[1] != b[1]:
            if len(a[1]) != len(b[1]):
                detail = f"{len(a[1])} rows in English, {len(b[1])} in Chinese"
            else:
                row = next(k for k in range(len(a[1])) if a[1][k] != b[1][k])
                detail = (f"row {row + 1} has {a[1][row]} cells in English (line {a[0] + row}), "
                          f"{b[1][row]} in Chinese (line {b[0] + row})")
            return [f"{zh_rel}: rule 'tables': table {i} (English line {a[0]}, Chinese line "
                    f"{b[0]}) has another shape: {detail}"]
    if len(en.tables) != len(zh.tables):
        return [f"{zh_rel}: rule 'tables': English has {len(en.tables)} tables, Chinese "
                f"{len(zh.tables)}"]
    return []


def check_links(doc, rel, repo):
    problems = []
    for target, line in doc.links:
        if not target or target.startswith("#") or re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", target):
            continue
        path = urllib.parse.unquote(target.split("#", 1)[0].split("?", 1)[0])
        base = repo if path.startswith("/") else doc.path.parent
        resolved = (base / path.lstrip("/")).resolve()
        if not resolved.exists():
            problems.append(f"{rel}: rule 'links': the link {target!r} at line {line} does not "
                            f"resolve (no {os.path.relpath(resolved, repo)})")
    return problems[:1] + ([f"{rel}: rule 'links': {len(problems) - 1} more dead link(s)"]
                           if len(problems) > 1 else [])


def check_pair(repo, rel):
    english = repo / rel
    if twin_of(rel) is None:
        return [f"{rel}: rule 'twin': a listed path must be a README.md or a docs/NAME.md"]
    twin_name, language_line = twin_of(rel)
    if not english.is_file():
        return [f"{rel}: rule 'twin': listed in the translation list, but there is no such file"]
    twin = english.with_name(twin_name)
    zh_rel = str(pathlib.PurePosixPath(rel).with_name(twin_name))
    if not twin.is_file():
        return [f"{rel}: rule 'twin': listed, but its Chinese twin {zh_rel} does not exist"]
    en, zh = Doc(english), Doc(twin)
    problems = check_language(en, rel, language_line) + check_language(zh, zh_rel, language_line)
    problems += check_blocks(en, zh, rel, zh_rel)
    problems += check_spans(en, zh, zh_rel)
    problems += check_numbers(en, zh, zh_rel)
    problems += check_tables(en, zh, zh_rel)
    problems += check_links(en, rel, repo) + check_links(zh, zh_rel, repo)
    return problems


def read_list(path):
    listed = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            listed.append(str(pathlib.PurePosixPath(line)))
    return listed


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("repo", nargs="?", default=".")
    parser.add_argument("--list", help="the translation list (default REPO/docs/translations.txt)")
    parser.add_argument("--only", nargs="+", metavar="PATH",
                        help="check only these listed READMEs (for writing one; ctest checks all)")
    args = parser.parse_args()
    repo = pathlib.Path(args.repo).resolve()
    list_path = pathlib.Path(args.list) if args.list else repo / "docs" / "translations.txt"
    if not list_path.is_file():
        print(f"{list_path}: rule 'twin': the translation list does not exist")
        return 1
    listed = read_list(list_path)
    problems = []
    for rel in sorted(set(listed)):
        if listed.count(rel) > 1:
            problems.append(f"{list_path.name}: {rel} is listed {listed.count(rel)} times")
    for rel in args.only or []:
        if rel not in listed:
            problems.append(f"{rel}: --only names a README that {list_path.name} does not list")
    checked = [rel for rel in dict.fromkeys(listed) if not args.only or rel in args.only]
    for rel in checked:
        problems += check_pair(repo, rel)

    # Not failed: the READMEs of the top level and of each lesson that are not listed yet.
    expected = ["README.md"] + sorted(
        f"lessons/{p.name}/README.md" for p in (repo / "lessons").glob("[0-9][0-9]_*")
        if (p / "README.md").is_file()) if (repo / "lessons").is_dir() else ["README.md"]
    unlisted = [rel for rel in expected if rel not in listed]
    for rel in unlisted:
        has_twin = (repo / rel).with_name(TWIN_NAME).is_file()
        print(f"not yet listed in {list_path.name} (not checked): {rel}"
              + (f" (its {TWIN_NAME} exists: list it)" if has_twin else ""))
    # A docs/NAME.md is printed only once its twin exists (most pages have none, on purpose).
    for page in sorted((repo / "docs").glob("*.md")) if (repo / "docs").is_dir() else []:
        rel = f"docs/{page.name}"
        if (twin_of(rel) and rel not in listed
                and page.with_name(twin_of(rel)[0]).is_file()):
            print(f"not yet listed in {list_path.name} (not checked): {rel} "
                  f"(its {twin_of(rel)[0]} exists: list it)")
    if problems:
        print("\n".join(problems))
        print(f"translations: {len(problems)} problem(s) in {len(checked)} checked pair(s)")
        return 1
    print(f"translations: {len(checked)} pair(s) agree; {len(unlisted)} README(s) not yet "
          f"listed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
