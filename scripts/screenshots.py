"""Screenshots of report pages as a reader first sees them, for the docs.

    python scripts/screenshots.py docs/results/quickstart docs/results/NAME ... \
        [--out docs/screenshots] [--height 1600]

Each report.html (of a run folder, of docs/results/NAME, or named directly) is shown in
headless Chromium 1280 px wide and its top `--height` px (the headline, the contents and the
claims table; a whole report with its plots runs to many screens and megabytes) are written to
OUT/NAME.png, NAME being the run's experiment (config.json), else its folder's name. The
browser is found as scripts/check_reports_browser.py finds it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from check_reports_browser import VIEWPORT, NoBrowser, browser, open_page, report_page


def shot_name(page_path: Path) -> str:
    """The experiment the page reports (from config.json beside it), else its folder's name."""
    config = page_path.parent / "config.json"
    if config.is_file():
        return json.loads(config.read_text()).get("experiment") or page_path.parent.name
    return page_path.parent.name


def screenshot(chrome, target, out_dir: Path, height: int) -> Path:
    """Write the top `height` px of one report page to out_dir/NAME.png; returns its path."""
    page_path = report_page(target)
    if not page_path.is_file():
        raise FileNotFoundError(f"no report page at {page_path}")
    tab = open_page(chrome, page_path)
    try:
        full = tab.evaluate("() => document.documentElement.scrollHeight")
        png = out_dir / f"{shot_name(page_path)}.png"
        tab.screenshot(path=str(png), full_page=True,
                       clip={"x": 0, "y": 0, "width": VIEWPORT["width"],
                             "height": min(height, full)})
        return png
    finally:
        tab.close()


def main(argv=None):
    """Screenshot every page given; print each PNG's path."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("targets", nargs="+", metavar="DIR",
                        help="run folders, docs/results/NAME folders or report.html files")
    parser.add_argument("--out", default="docs/screenshots", help="where the PNGs go")
    parser.add_argument("--height", type=int, default=1600, help="px from the top (default "
                        "1600)")
    parser.add_argument("--chromium", help="the browser to drive (default: chromium on PATH)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    try:
        with browser(args.chromium) as chrome:
            for target in args.targets:
                print(screenshot(chrome, target, out, args.height), flush=True)
    except (NoBrowser, FileNotFoundError) as err:
        print(f"screenshots: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
