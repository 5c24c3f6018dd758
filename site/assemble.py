#!/usr/bin/env python3
"""Assemble the course website's source tree for MkDocs (docs/site.md).

Not a generator: it copies the READMEs and docs into MkDocs' layout, points their links at the
site's pages, puts each lesson's pictures from its newest run on its page, and writes
mkdocs.yml (site/mkdocs.yml plus the navigation: the lessons in order). MkDocs with
mkdocs-material and mkdocs-static-i18n makes the HTML.

    assemble.py --root REPO --build BUILD_DIR --out SRC_DIR

REPO/lessons/NN_topic/README.md        -> SRC/docs/lessons/NN_topic/index.md
REPO/lessons/NN_topic/README.zh-CN.md  -> SRC/docs/lessons/NN_topic/index.zh.md
  (missing: index.zh.md says "English only" and holds the English text)
REPO/README.md, README.zh-CN.md        -> SRC/docs/index.md, index.zh.md
REPO/docs/*.md                         -> SRC/docs/docs/*.md (English)
Standard library only.
"""

import argparse
import json
import os
import posixpath
import re
import shutil
import sys
import time
from pathlib import Path

LESSON_RE = re.compile(r"^\d\d_[A-Za-z0-9_]+$")
LINK_RE = re.compile(r"(!?\[[^\]\n]*\])\(([^)\s]+)\)")
FENCE_RE = re.compile(r"^(\s*)(```+|~~~+)")
LANG_LINE_RE = re.compile(r"^\[English\]\([^)]*\)\s*\|\s*\[简体中文\]\([^)]*\)\s*$")


def lessons(root):
    return sorted(p.name for p in (root / "lessons").iterdir()
                  if p.is_dir() and LESSON_RE.match(p.name) and (p / "README.md").is_file())


class Site:
    def __init__(self, root, build, out):
        self.root, self.build, self.out = root, build, out
        self.docs = out / "docs"
        self.lessons = lessons(root)
        self.copied = set()      # repo paths of non-page files copied into the site
        self.report = []         # one line per lesson: where its pictures came from

    # -- where a repository path lives on the site ---------------------------------------
    def site_path(self, repo_path):
        """repo path (posix, no leading ./) -> site docs path, or None when it has none."""
        p = repo_path.rstrip("/")
        parts = p.split("/")
        if p in ("README.md", "README.zh-CN.md", ""):
            return "index.md"
        if parts[0] == "lessons" and len(parts) >= 2 and parts[1] in self.lessons:
            if len(parts) == 2 or parts[2] in ("README.md", "README.zh-CN.md"):
                return f"lessons/{parts[1]}/index.md"
        if parts[0] == "docs" and len(parts) == 2 and p.endswith(".md"):
            return p[:-len(".zh-CN.md")] + ".md" if p.endswith(".zh-CN.md") else p
        full = self.root / p
        if full.is_file() and not p.endswith(".md"):
            # a source file a README links to (main.cpp, reference.py, ...): served as is
            dst = self.docs / "files" / p
            if p not in self.copied:
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(full, dst)
                self.copied.add(p)
            return "files/" + p
        return None

    def rewrite_links(self, text, src_repo, dst_site):
        """Point the relative links of a file copied from src_repo to dst_site at site pages."""
        src_dir = posixpath.dirname(src_repo)
        dst_dir = posixpath.dirname(dst_site)

        def fix(m):
            label, target = m.group(1), m.group(2)
            if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith(("#", "/")):
                return m.group(0)
            path, _, anchor = target.partition("#")
            repo_path = posixpath.normpath(posixpath.join(src_dir, path)) if path else src_repo
            if repo_path.startswith(".."):
                return m.group(0)
            site = self.site_path("" if repo_path == "." else repo_path)
            if site is None:  # a folder or file the site does not have: keep the words
                return label[1:-1] if not label.startswith("!") else m.group(0)
            rel = posixpath.relpath(site, dst_dir or ".")
            return f"{label}({rel}{'#' + anchor if anchor else ''})"

        out, fence = [], None
        for line in text.split("\n"):
            f = FENCE_RE.match(line)
            if fence:
                if f and f.group(2)[0] == fence[0] and len(f.group(2)) >= len(fence):
                    fence = None
                out.append(line)
                continue
            if f:
                fence = f.group(2)
                out.append(line)
                continue
            # links that do not start inside an inline code span
            spans = [m.span() for m in re.finditer(r"`+[^`]*`+", line)]
            out.append(LINK_RE.sub(lambda m: m.group(0) if any(a <= m.start() < b for a, b in spans)
                                   else fix(m), line))
        return "\n".join(out)

    # -- Python and C++ side by side ---------------------------------------------------
    @staticmethod
    def side_by_side(text):
        """A ```python block followed (after blank lines) by a ```cpp block: one grid, two columns
        (mkdocs-material's grids; they stack on a narrow screen)."""
        lines = text.split("\n")
        out, i = [], 0

        def block_end(start):  # index of the closing fence of the block opening at start
            j = start + 1
            while j < len(lines) and not lines[j].startswith("```"):
                j += 1
            return j

        while i < len(lines):
            if lines[i].strip() == "```python":
                end = block_end(i)
                k = end + 1
                while k < len(lines) and lines[k].strip() == "":
                    k += 1
                if end < len(lines) and k < len(lines) and lines[k].strip() == "```cpp":
                    end2 = block_end(k)
                    if end2 < len(lines):
                        out += ['<div class="grid side-by-side" markdown>', ""]
                        out += ['```python title="Python"'] + lines[i + 1:end + 1] + [""]
                        out += ['```cpp title="C++"'] + lines[k + 1:end2 + 1]
                        out += ["", "</div>"]
                        i = end2 + 1
                        continue
            out.append(lines[i])
            i += 1
        return "\n".join(out)

    # -- pictures from the newest run ------------------------------------------------------
    def newest_run(self, lesson):
        """(folder, [png], kind) of the newest run that wrote PNGs, or None. A learner's own
        runs (BUILD/out/LESSON/run_N) come before the test suite's smoke run
        (BUILD/test-workdir/LESSON/out/run_N)."""
        for kind, base in (("run", self.build / "out" / lesson),
                           ("smoke", self.build / "test-workdir" / lesson / "out")):
            if not base.is_dir():
                continue
            runs = []
            for d in base.iterdir():
                pngs = sorted(d.glob("*.png")) if d.is_dir() and d.name.startswith("run_") else []
                if pngs:
                    runs.append((max(p.stat().st_mtime for p in pngs), d, pngs))
            if runs:
                _, d, pngs = max(runs)
                return d, pngs, kind
        return None

    def makes_pictures(self, lesson):
        d = self.root / "lessons" / lesson
        return any(".png" in f.read_text(errors="replace")
                   for f in d.iterdir() if f.suffix in (".cpp", ".h", ".hpp"))

    def pictures_section(self, lesson, zh):
        number = lesson[:2]
        note = (lambda line: None) if zh else self.report.append
        run = self.newest_run(lesson)
        if run is None:
            if not self.makes_pictures(lesson):
                note(f"{lesson}: writes no pictures")
                return None
            note(f"{lesson}: not run yet")
            out = os.path.relpath(self.build / "out" / lesson, self.root) + "/run_N/"
            run_it, smoke = f"./course run {number}", f"./course run {number} -- --smoke"
            if zh:
                return (f"## 运行结果图\n\n本课还没有运行过，所以这里还没有图。`{run_it}`"
                        f"（或几秒钟的 `{smoke}`）会把图写进 `{out}`，然后再运行 `./course site`。\n")
            return ("## Pictures from a run\n\nThis lesson has not been run on this machine yet, "
                    f"so there are no pictures here. `{run_it}` (or `{smoke}`, seconds) writes "
                    f"them into `{out}`; then `./course site` again.\n")
        folder, pngs, kind = run
        rel_folder = os.path.relpath(folder, self.root)
        dst = self.docs / "lessons" / lesson / "pictures"
        if not zh:
            dst.mkdir(parents=True, exist_ok=True)
            for p in pngs:
                shutil.copyfile(p, dst / p.name)
            self.report.append(f"{lesson}: {len(pngs)} pictures from {rel_folder}")
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(max(p.stat().st_mtime for p in pngs)))
        if zh:
            what = ("测试套件的冒烟运行（`--smoke`，数据很少，曲线不代表完整训练）"
                    if kind == "smoke" else "你自己的一次运行")
            head = f"## 运行结果图\n\n下面的图来自{what}：`{rel_folder}/`，{when}。\n"
        else:
            what = ("the test suite's smoke run (`--smoke`: little data, so the curves are not "
                    "those of a full run)" if kind == "smoke" else "a run on this machine")
            head = f"## Pictures from a run\n\nFrom {what}: `{rel_folder}/`, {when}.\n"
        figs = "\n".join(f'<figure markdown>\n![{p.name}](pictures/{p.name})\n'
                         f'<figcaption>{p.name}</figcaption>\n</figure>\n' for p in pngs)
        return head + "\n" + figs

    @staticmethod
    def insert_after_first_section(text, section):
        """Put section before the second '## ' heading (after "Run it"), else at the end."""
        lines, seen, fence = text.split("\n"), 0, False
        for i, line in enumerate(lines):
            if line.startswith("```"):
                fence = not fence
            if not fence and line.startswith("## "):
                seen += 1
                if seen == 2:
                    return "\n".join(lines[:i] + [section] + lines[i:])
        return text.rstrip("\n") + "\n\n" + section

    # -- pages ---------------------------------------------------------------------------
    def page(self, src_repo, dst_site, extra=None, prefix=None):
        text = (self.root / src_repo).read_text()
        lines = [l for l in text.split("\n") if not LANG_LINE_RE.match(l)]  # the site has a switch
        text = "\n".join(lines)
        text = self.rewrite_links(text, src_repo, dst_site)
        text = self.side_by_side(text)
        if extra:
            text = self.insert_after_first_section(text, extra)
        if prefix:
            # after the title, so that the page keeps its title
            first, _, rest = text.partition("\n")
            text = first + "\n\n" + prefix + "\n" + rest
        dst = self.docs / dst_site
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_text(text)

    def assemble(self):
        if self.out.exists():
            shutil.rmtree(self.out)
        self.docs.mkdir(parents=True)
        self.page("README.md", "index.md")
        if (self.root / "README.zh-CN.md").is_file():
            self.page("README.zh-CN.md", "index.zh.md")
        english_only = []
        for lesson in self.lessons:
            base = f"lessons/{lesson}"
            self.page(f"{base}/README.md", f"{base}/index.md",
                      extra=self.pictures_section(lesson, zh=False))
            zh_pics = self.pictures_section(lesson, zh=True)
            if (self.root / base / "README.zh-CN.md").is_file():
                self.page(f"{base}/README.zh-CN.md", f"{base}/index.zh.md", extra=zh_pics)
            else:
                english_only.append(lesson)
                self.page(f"{base}/README.md", f"{base}/index.zh.md", extra=zh_pics,
                          prefix='!!! note "本课暂无中文版 (English only)"\n'
                                 "    这一课目前只有英文版，下面是英文原文。")
        doc_pages = sorted(p.name for p in (self.root / "docs").glob("*.md")
                           if not p.name.endswith(".zh-CN.md"))
        for name in doc_pages:
            self.page(f"docs/{name}", f"docs/{name}")
            twin = f"docs/{name[:-3]}.zh-CN.md"
            if (self.root / twin).is_file():
                self.page(twin, f"docs/{name[:-3]}.zh.md")
            else:
                english_only.append(f"docs/{name}")
                self.page(f"docs/{name}", f"docs/{name[:-3]}.zh.md",
                          prefix='!!! note "本文暂无中文版 (English only)"\n'
                                 "    这篇文档目前只有英文版，下面是英文原文。")
        shutil.copytree(Path(__file__).parent / "overrides", self.out / "overrides")
        (self.docs / "stylesheets").mkdir()
        shutil.copyfile(Path(__file__).parent / "extra.css", self.docs / "stylesheets/extra.css")
        self.write_config(doc_pages, english_only)
        return english_only

    def write_config(self, doc_pages, english_only):
        base = (Path(__file__).parent / "mkdocs.yml").read_text()
        # YAML is a superset of JSON: the navigation is written as JSON lines.
        nav = [{"Home": "index.md"},
               {"Lessons": [f"lessons/{l}/index.md" for l in self.lessons]},
               {"Docs": [f"docs/{d}" for d in doc_pages]}]
        config = base.replace("# NAV", "nav: " + json.dumps(nav, ensure_ascii=False))
        (self.out / "mkdocs.yml").write_text(config)
        (self.out / "assembled.json").write_text(json.dumps({
            "lessons": self.lessons, "english_only": english_only, "docs": doc_pages,
            "pictures": self.report}, ensure_ascii=False, indent=1))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", type=Path, required=True)
    ap.add_argument("--build", type=Path, required=True, help="the preset's build folder")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    site = Site(args.root.resolve(), args.build.resolve(), args.out.resolve())
    english_only = site.assemble()
    for line in site.report:
        print("  " + line)
    print(f"  {len(site.lessons)} lessons; English only: {', '.join(english_only) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
