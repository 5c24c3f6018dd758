#!/usr/bin/env python3
"""The course website in a real browser: headless Chromium (Debian's package) driven over the
DevTools protocol with websocket-client (docs/site.md).

    check_site.py --site build/site --assembled build/site-src/assembled.json --out build/site-check

Checks, each printed with its result:
  1. every page reached from the two home pages (/ and /zh/) through the navigation loads with no
     console error, no uncaught exception and no failed request (a 404 image, a missing script)
  2. the navigation reaches every lesson in both languages (the lessons come from assembled.json)
  3. each page has the language switch, pointing at the other language's page
  4. Chinese text renders with a CJK font: the fonts Chromium used for a Chinese heading
     (CSS.getPlatformFontsForNode) include one with CJK glyphs, and a Chinese character drawn on a
     canvas differs from the missing-glyph box (tofu)
  5. search finds an English and a Chinese word (mkdocs-material's search; Chinese cut by jieba)
  6. screenshots of three pages into --out

Exit 0: all passed; 1: a check failed; 77: nothing to check (no site built, no Chromium, no
websocket-client), so a test runner can report it as skipped.
"""

import argparse
import base64
import functools
import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from urllib.parse import urljoin, urlparse

SKIP = 77
CJK_FONT_WORDS = ("CJK", "WenQuanYi", "Droid Sans Fallback", "AR PL", "Source Han", "Noto Sans SC",
                  "Noto Serif SC")


def skip(why):
    print(f"SKIP: {why}")
    sys.exit(SKIP)


class Browser:
    """One headless Chromium and one tab, spoken to over the DevTools protocol."""

    def __init__(self, chromium, width=1280, height=900):
        import websocket  # websocket-client, from the site's venv
        self.profile = tempfile.mkdtemp(prefix="course-site-chromium-")
        self.proc = subprocess.Popen(
            [chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--no-default-browser-check", "--disable-dev-shm-usage", "--disable-extensions",
             "--remote-debugging-port=0", f"--user-data-dir={self.profile}",
             "--remote-allow-origins=*", f"--window-size={width},{height}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = Path(self.profile) / "DevToolsActivePort"
        for _ in range(300):
            if port_file.exists() and port_file.read_text().strip():
                break
            if self.proc.poll() is not None:
                raise RuntimeError(f"{chromium} exited with {self.proc.returncode}")
            time.sleep(0.1)
        else:
            raise RuntimeError("Chromium did not open its DevTools port in 30 s")
        port = int(port_file.read_text().split()[0])
        targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list"))
        page = next(t for t in targets if t["type"] == "page")
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=60,
                                              suppress_origin=True)
        self.next_id = 0
        self.events = []
        for domain in ("Page", "Runtime", "Log", "Network", "DOM", "CSS"):
            self.call(f"{domain}.enable")
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=height,
                  deviceScaleFactor=1, mobile=False)

    def call(self, method, **params):
        self.next_id += 1
        my_id = self.next_id
        self.ws.send(json.dumps({"id": my_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == my_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            if "method" in msg:
                self.events.append(msg)

    def wait_event(self, method, timeout=30):
        end = time.time() + timeout
        for i, e in enumerate(self.events):
            if e["method"] == method:
                del self.events[i]
                return e
        self.ws.settimeout(1)
        try:
            while time.time() < end:
                try:
                    msg = json.loads(self.ws.recv())
                except Exception:  # the 1 s receive timeout
                    continue
                if msg.get("method") == method:
                    return msg
                if "method" in msg:
                    self.events.append(msg)
        finally:
            self.ws.settimeout(60)
        raise RuntimeError(f"no {method} in {timeout} s")

    def settle(self, seconds=0.5):
        """Collect the events of the next moments (late console messages, failed images)."""
        self.ws.settimeout(0.2)
        end = time.time() + seconds
        try:
            while time.time() < end:
                try:
                    msg = json.loads(self.ws.recv())
                except Exception:
                    continue
                if "method" in msg:
                    self.events.append(msg)
        finally:
            self.ws.settimeout(60)

    def open(self, url):
        self.events = []
        self.call("Page.navigate", url=url)
        self.wait_event("Page.loadEventFired")
        self.settle()

    def js(self, expression):
        r = self.call("Runtime.evaluate", expression=expression, returnByValue=True,
                      awaitPromise=True)
        if "exceptionDetails" in r:
            raise RuntimeError(f"{expression[:60]}...: {r['exceptionDetails']}")
        return r["result"].get("value")

    def errors(self):
        """Console errors, uncaught exceptions and failed requests since the last open()."""
        out = []
        for e in self.events:
            m, p = e["method"], e.get("params", {})
            if m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                out.append("console: " + " ".join(str(a.get("value", a.get("description", "")))
                                                  for a in p.get("args", [])))
            elif m == "Runtime.exceptionThrown":
                d = p.get("exceptionDetails", {})
                what = d.get("exception", {}).get("description", d.get("text", ""))
                out.append(f"exception: {what}")
            elif m == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                out.append(f"log: {p['entry'].get('text')} {p['entry'].get('url', '')}")
            elif m == "Network.loadingFailed" and not p.get("canceled"):
                out.append(f"request failed: {p.get('errorText')}")
            elif (m == "Network.responseReceived"
                  and p.get("response", {}).get("status", 200) >= 400):
                out.append(f"HTTP {p['response']['status']}: {p['response']['url']}")
        return out

    def screenshot(self, path):
        data = self.call("Page.captureScreenshot", format="png")["data"]
        Path(path).write_bytes(base64.b64decode(data))

    def close(self):
        try:
            self.ws.close()
        finally:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
            shutil.rmtree(self.profile, ignore_errors=True)


def serve(folder):
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


NAV_LINKS = """[...document.querySelectorAll('nav.md-nav--primary a.md-nav__link[href]')]
  .map(a => a.href).filter(h => !h.includes('#'))"""

SWITCH = """[...document.querySelectorAll('.md-select a[hreflang]')]
  .map(a => [a.getAttribute('hreflang'), a.href])"""

# Tofu: a character with no glyph in any font is drawn as the same box as an unassigned code
# point. Draw both in the page's own font; a real glyph differs from the box.
TOFU = """(() => {
  const font = getComputedStyle(document.querySelector('h1')).fontFamily;
  const draw = (ch) => { const c = document.createElement('canvas'); c.width = 64; c.height = 64;
    const g = c.getContext('2d'); g.fillStyle = '#fff'; g.fillRect(0, 0, 64, 64);
    g.fillStyle = '#000'; g.font = '48px ' + font; g.fillText(ch, 4, 52);
    return Array.from(g.getImageData(0, 0, 64, 64).data); };
  const box = draw('\\u{10FFFD}'), ink = (a) => a.filter((v, i) => i % 4 == 0 && v < 128).length;
  return ['课', '张', '梯'].map(ch => { const a = draw(ch);
    return {ch, ink: ink(a), same_as_box: a.every((v, i) => v === box[i])}; });
})()"""

SEARCH = """(async (q) => {
  const input = document.querySelector('input.md-search__input');
  input.focus(); input.value = q;
  input.dispatchEvent(new Event('input', {bubbles: true}));
  input.dispatchEvent(new KeyboardEvent('keyup', {bubbles: true, key: 'a'}));
  for (let i = 0; i < 100; i++) {
    await new Promise(r => setTimeout(r, 100));
    const n = document.querySelectorAll('.md-search-result__item').length;
    const item = document.querySelector('.md-search-result__item');
    if (item) return {n, first: item.innerText.slice(0, 80)};
  }
  return {n: 0, meta: (document.querySelector('.md-search-result__meta') || {}).innerText};
})"""


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--site", type=Path, required=True)
    ap.add_argument("--assembled", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--chromium", default=os.environ.get("CHROMIUM", "chromium"))
    ap.add_argument("--fonts-only", action="store_true",
                    help="check 4 only (how docs/site.md shows that it fails without a CJK font)")
    args = ap.parse_args()

    if not (args.site / "index.html").is_file() or not args.assembled.is_file():
        skip(f"no site in {args.site}: ./course site builds it")
    chromium = shutil.which(args.chromium)
    if not chromium:
        skip("no Chromium: ./course site installs Debian's chromium")
    try:
        import websocket  # noqa: F401
    except ImportError:
        skip("no websocket-client: run with the site's venv (./course site --check)")
    lessons = json.loads(args.assembled.read_text())["lessons"]
    args.out.mkdir(parents=True, exist_ok=True)

    failures = []

    def check(ok, what):
        print(f"  {'ok  ' if ok else 'FAIL'} {what}")
        if not ok:
            failures.append(what)

    server, base = serve(args.site)
    browser = Browser(chromium)
    start = time.time()
    try:
        version = subprocess.run([chromium, "--version"], capture_output=True, text=True).stdout
        print(f"Chromium: {version.strip()}")
        # 1-3: every page the navigation reaches, from both home pages
        todo, seen, bad_pages, no_switch = [base, base + "zh/"], set(), [], []
        if args.fonts_only:
            todo = []
        while todo:
            url = todo.pop(0)
            path = urlparse(url).path
            if path in seen:
                continue
            seen.add(path)
            browser.open(url)
            errs = browser.errors()
            if errs:
                bad_pages.append((path, errs))
            zh = path.startswith("/zh/")
            other = dict(browser.js(SWITCH) or [])
            want = "en" if zh else "zh"
            twin = path[3:] if zh else "/zh" + path  # the same page in the other language
            if want not in other or urlparse(other[want]).path != twin:
                no_switch.append(path)
            for link in browser.js(NAV_LINKS) or []:
                if link.startswith(base) and urlparse(link).path not in seen:
                    todo.append(link)
        if not args.fonts_only:
            for path, errs in bad_pages:
                print(f"    {path}: " + "; ".join(errs[:3]))
            check(not bad_pages, f"{len(seen)} pages loaded with no console error, exception or "
                                 f"failed request ({len(bad_pages)} with errors)")
            missing = [f"{lang}lessons/{l}/" for l in lessons for lang in ("/", "/zh/")
                       if f"{lang}lessons/{l}/" not in seen]
            check(not missing, f"the navigation reaches all {len(lessons)} lessons in English and "
                               f"in Chinese{': missing ' + ', '.join(missing) if missing else ''}")
            check(not no_switch, "every page's language switch leads to the same page in the "
                  "other language" + (f": not on {', '.join(no_switch[:5])}" if no_switch else ""))

        # 4: Chinese text renders with a CJK font, not as boxes
        browser.open(base + "zh/lessons/01_tensors/")
        doc = browser.call("DOM.getDocument")["root"]["nodeId"]
        h1 = browser.call("DOM.querySelector", nodeId=doc, selector="article h1")["nodeId"]
        fonts = browser.call("CSS.getPlatformFontsForNode", nodeId=h1)["fonts"]
        names = ", ".join(f"{f['familyName']} ({f['glyphCount']} glyphs)" for f in fonts)
        cjk = [f for f in fonts if any(w in f["familyName"] for w in CJK_FONT_WORDS)]
        check(bool(cjk) and all(f["glyphCount"] > 0 for f in cjk),
              f"the Chinese heading is drawn with a CJK font: {names}")
        tofu = browser.js(TOFU)
        check(all(not t["same_as_box"] and t["ink"] > 20 for t in tofu),
              "Chinese characters on a canvas are glyphs, not the missing-glyph box: "
              + ", ".join(f"{t['ch']} {t['ink']} dark pixels"
                          f"{' SAME AS BOX' if t['same_as_box'] else ''}" for t in tofu))

        if not args.fonts_only:
            # 5: search, in each language
            for page, query in (("", "autograd"), ("zh/", "张量"), ("zh/", "梯度")):
                browser.open(base + page)
                r = browser.js(SEARCH + f"({json.dumps(query)})")
                r = r or {"n": 0}
                shown = (f", first: {r['first'].splitlines()[0]!r}" if r.get("first")
                         else f" ({r.get('meta', '')})")
                check(r["n"] > 0, f"search for {query!r} on /{page}: {r['n']} results{shown}")

            # the Python/C++ pairs: two columns on a wide window
            browser.open(base + "lessons/02_autograd/")
            pairs = browser.js("""[...document.querySelectorAll('.grid.side-by-side')].map(g => {
              const [a, b] = [...g.children].map(c => c.getBoundingClientRect());
              return {titles: [...g.querySelectorAll('.filename')].map(t => t.innerText),
                      same_row: Math.abs(a.top - b.top) < 2 && b.left > a.right - 1}; })""") or []
            check(pairs and all(p["same_row"] and p["titles"] == ["Python", "C++"] for p in pairs),
                  f"lesson 02's {len(pairs)} Python/C++ pairs stand side by side at 1280 px, "
                  "titled Python and C++")

            # 6: three screenshots for review
            shots = [("en-lesson-08_cnn.png", "lessons/08_cnn/"),
                     ("zh-lesson-02_autograd.png", "zh/lessons/02_autograd/"),
                     ("zh-home.png", "zh/")]
            if any((args.site / "lessons" / l / "pictures").is_dir() for l in lessons):
                with_pics = next(l for l in lessons
                                 if (args.site / "lessons" / l / "pictures").is_dir())
                shots[0] = (f"en-lesson-{with_pics}.png", f"lessons/{with_pics}/")
            for name, page in shots:
                browser.open(base + page)
                if "lesson" in name:  # the pictures section, or the Python/C++ pair, in view
                    browser.js("""(() => { const e = document.querySelector('figure img')
                      || document.querySelector('.grid.side-by-side')
                      || document.querySelector('table');
                      if (e) e.scrollIntoView({block: 'center'}); })()""")
                    browser.settle(0.5)
                browser.screenshot(args.out / name)
            check(all((args.out / n).stat().st_size > 10000 for n, _ in shots),
                  "screenshots: " + ", ".join(str(args.out / n) for n, _ in shots))
    finally:
        browser.close()
        server.shutdown()
    print(f"browser check took {time.time() - start:.1f} s")
    if failures:
        print(f"FAILED: {len(failures)} check(s)")
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
