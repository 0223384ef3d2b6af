"""Check report pages in a real browser (headless Chromium through Playwright).

    python scripts/check_reports_browser.py DIR_OR_REPORT_HTML...
    python scripts/check_reports_browser.py --index docs/results/index.html

Each report.html (of a run folder, of docs/results/NAME, or named directly) is opened at
1280x800 and checked as a reader sees it:
- the #headline element starts within the first screen (800 px);
- every verdict cell (`td.verdict`, and every cell of a "verdict" column) carries a
  `v-SLUG` class that names its verdict, and that class gives it a colour of its own;
- the rendered text has no literal ``` and no `stray backtick` pairs (Markdown left raw);
- every table-of-contents link (`nav#toc a[href^='#']`) leads to an element of that id;
- every image has loaded.
--index checks a page of links (docs/results/index.html): every relative link leads to an
existing file (and its #fragment to an id on the page itself), and every image has loaded.

One line per page (ok, or its failures), then one line of JSON; exit 1 if any page fails, 2 if
the browser cannot be started. The system's Chromium is used (no browser download: the
machines here reach no site but the package registries): --chromium PATH, or the variable
LAYERLAB_CHROMIUM, else `chromium` (or chromium-browser, google-chrome) on the PATH.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import sys
from pathlib import Path

VIEWPORT = {"width": 1280, "height": 800}
VERDICTS = ("reproduced", "not reproduced", "beaten", "below", "above", "met", "not met",
            "within noise", "holds", "not shown", "equivalent", "measured", "not judged")
BACKTICKS = re.compile(r"`[^`\n]+`")

# Every fact the checks need, read from the page as laid out on the first screen. Lazy images
# are made eager and awaited, so that an image below the first screen is judged too.
FACTS_JS = """async () => {
  const colour = e => getComputedStyle(e).color;
  const head = document.getElementById('headline');
  const headlineTop = head ? head.getBoundingClientRect().top + window.scrollY : null;
  const cells = new Set(document.querySelectorAll('td.verdict'));
  for (const table of document.querySelectorAll('table')) {
    const names = [...table.querySelectorAll('tr:first-child th, thead th')]
      .map(th => th.innerText.trim().toLowerCase());
    const col = names.indexOf('verdict');
    if (col < 0) continue;
    for (const row of table.querySelectorAll('tr'))
      if (row.children[col] && row.children[col].tagName === 'TD') cells.add(row.children[col]);
  }
  const verdicts = [...cells].map(td => {
    const own = [...td.classList].some(c => c.startsWith('v-'));
    const el = own ? td : (td.querySelector('[class*="v-"]') || td);
    return {text: td.innerText.trim(), isVerdict: td.classList.contains('verdict'),
            slugs: [...el.classList].filter(c => c.startsWith('v-')).map(c => c.slice(2)),
            colour: colour(el)};
  });
  const nav = document.querySelector('nav#toc');
  const toc = [...document.querySelectorAll("nav#toc a[href^='#']")].map(a => {
    const id = decodeURIComponent(a.getAttribute('href').slice(1));
    return {href: a.getAttribute('href'), found: !!document.getElementById(id)};
  });
  document.querySelectorAll('details').forEach(d => { d.open = true; });
  const imgs = [...document.images];
  imgs.forEach(i => { i.loading = 'eager'; });
  await Promise.all(imgs.map(i => i.decode().catch(() => null)));
  return {headlineTop, verdicts, toc, hasToc: !!nav, defaultColour: colour(document.body),
          text: document.body.innerText,
          images: imgs.map(i => ({src: i.getAttribute('src') || '', width: i.naturalWidth}))};
}"""

LINKS_JS = """() => [...document.querySelectorAll('a[href]')].map(a => a.getAttribute('href'))"""


def find_chromium(given=None):
    """The Chromium to drive: `given`, else $LAYERLAB_CHROMIUM, else the first browser on the
    PATH; None when the one asked for (or any) is not there."""
    chosen = given or os.environ.get("LAYERLAB_CHROMIUM")
    for candidate in [chosen] if chosen else ["chromium", "chromium-browser", "google-chrome"]:
        if path := shutil.which(candidate):
            return path
    return None


class NoBrowser(RuntimeError):
    """Playwright or Chromium is missing (the message names the fix)."""


@contextlib.contextmanager
def browser(chromium=None):
    """A headless Chromium (the system's, through Playwright); NoBrowser when Playwright or the
    browser is missing."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise NoBrowser("the browser check needs Playwright: pip install playwright "
                         "(the system's Chromium is used, no `playwright install`)") from None
    path = find_chromium(chromium)
    if not path:
        asked = chromium or os.environ.get("LAYERLAB_CHROMIUM") or "chromium"
        raise NoBrowser(f"no browser {asked!r} found: apt-get install chromium, or give "
                        "--chromium PATH (or set LAYERLAB_CHROMIUM)")
    with sync_playwright() as pw:
        chrome = pw.chromium.launch(executable_path=path, headless=True)
        try:
            yield chrome
        finally:
            chrome.close()


def report_page(target) -> Path:
    """report.html of a run folder (or docs/results/NAME), or the page itself."""
    target = Path(target)
    return target / "report.html" if target.is_dir() else target


def open_page(chrome, page_path):
    """A new 1280x800 tab showing the page, loaded."""
    tab = chrome.new_page(viewport=VIEWPORT)
    tab.goto(page_path.resolve().as_uri(), wait_until="load")
    return tab


def verdict_problems(facts):
    """Verdict cells without their class, with a class naming another verdict, or with the
    default text colour."""
    problems = []
    for cell in facts["verdicts"]:
        named = [v for v in VERDICTS if v in cell["text"].lower()]
        want = max(named, key=len).replace(" ", "-") if named else None
        if not cell["isVerdict"] or not cell["slugs"]:
            problems.append(f"verdict cell {cell['text']!r} has no class verdict v-SLUG")
        elif want and want not in cell["slugs"]:
            problems.append(f"verdict cell {cell['text']!r} has class v-{cell['slugs'][0]}, "
                            f"not v-{want}")
        elif cell["colour"] == facts["defaultColour"]:
            problems.append(f"verdict cell {cell['text']!r} (v-{cell['slugs'][0]}) has the "
                            f"default text colour {cell['colour']}")
    return problems


def report_problems(facts):
    """Everything wrong with one report page, from the facts FACTS_JS read."""
    problems = []
    top = facts["headlineTop"]
    if top is None:
        problems.append("no element with id=\"headline\"")
    elif not 0 <= top < VIEWPORT["height"]:
        problems.append(f"the headline starts at {top:.0f} px, below the first "
                        f"{VIEWPORT['height']} px")
    problems += verdict_problems(facts)
    if "```" in facts["text"]:
        problems.append("the rendered text has a literal ```")
    problems += [f"stray backticks in the rendered text: {m.group(0)[:60]!r}"
                 for m in BACKTICKS.finditer(facts["text"].replace("```", ""))][:5]
    if not facts["hasToc"]:
        problems.append("no table of contents (nav id=\"toc\")")
    problems += [f"table-of-contents link {t['href']} leads to no element" for t in facts["toc"]
                 if not t["found"]]
    return problems + image_problems(facts["images"])


def image_problems(images):
    """Images that did not load (naturalWidth 0)."""
    return [f"image did not load: {img['src'][:80]}" for img in images if img["width"] <= 0]


def check_report(chrome, target):
    """The failures of one report (an empty list when it passes)."""
    page_path = report_page(target)
    if not page_path.is_file():
        return [f"no report page at {page_path}"]
    tab = open_page(chrome, page_path)
    try:
        return report_problems(tab.evaluate(FACTS_JS))
    finally:
        tab.close()


def check_index(chrome, index):
    """The failures of an index page: relative links to missing files or ids, broken images."""
    index = Path(index)
    if not index.is_file():
        return [f"no index page at {index}"]
    tab = open_page(chrome, index)
    try:
        hrefs = tab.evaluate(LINKS_JS)
        ids = set(tab.evaluate("() => [...document.querySelectorAll('[id]')].map(e => e.id)"))
        images = tab.evaluate(FACTS_JS)["images"]
    finally:
        tab.close()
    problems = []
    for href in hrefs:
        if re.match(r"^[a-z][a-z0-9+.-]*:", href, re.I):  # http:, mailto:, data: ...: not files
            continue
        path, _, fragment = href.partition("#")
        if path and not (index.parent / path.split("?")[0]).exists():
            problems.append(f"link {href} leads to no file")
        elif not path and fragment and fragment not in ids:
            problems.append(f"link {href} leads to no element")
    return problems + image_problems(images)


def main(argv=None):
    """Check every page given; print one line each and a JSON summary; 1 if any fails."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("targets", nargs="*", metavar="DIR",
                        help="run folders, docs/results/NAME folders or report.html files")
    parser.add_argument("--index", action="append", default=[], metavar="INDEX_HTML",
                        help="check a page of links instead (docs/results/index.html)")
    parser.add_argument("--chromium", help="the browser to drive (default: chromium on PATH)")
    args = parser.parse_args(argv)
    if not args.targets and not args.index:
        parser.error("give report folders or pages, or --index INDEX_HTML")
    pages = [(t, check_report) for t in args.targets] + [(i, check_index) for i in args.index]
    failures = {}
    try:
        with browser(args.chromium) as chrome:
            for target, check in pages:
                problems = check(chrome, target)
                print(f"{target}: " + ("ok" if not problems else "; ".join(problems)),
                      flush=True)
                if problems:
                    failures[str(target)] = problems
    except NoBrowser as err:
        print(f"check_reports_browser: {err}", file=sys.stderr)
        return 2
    print(json.dumps({"pages": len(pages), "ok": len(pages) - len(failures),
                      "failed": len(failures), "failures": failures}))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
