"""A screenshot of `layerlab playground` after some training, for the docs.

    python scripts/playground_screenshot.py [--out docs/screenshots/playground.png] \
        [--query "dataset=spiral&classes=3&..."] [--epochs 150]

Starts the real server (`python -m layerlab playground --no-browser --port 0`) on a free
loopback port, opens the page with the setup of --query in headless Chromium (1280 px wide),
trains until the epoch counter reaches --epochs, pauses and writes the whole page to --out.
The browser is found as scripts/check_reports_browser.py finds it. `serve` is also used by the
page's browser test (tests/playground/test_page_browser.py).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import queue
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from check_reports_browser import NoBrowser, browser

# Spiral, three arms, a ReLU net of two layers: shows the class colours, the per-unit maps,
# the dead-unit counts and a falling loss within a few seconds.
QUERY = ("dataset=spiral&classes=3&noise=5&points=1000&features=x1,x2,sinx1,sinx2&hidden=8,6"
         "&activation=relu&optimizer=adam&lr=0.01&batch=10&seed=1")


def wait_for_address(process: subprocess.Popen, log: Path, timeout: float) -> str:
    """The base URL the server prints on its first line (it was started with --port 0, so the
    OS picked a free port); RuntimeError, with its error output, if it dies or stays silent."""
    lines = queue.Queue()
    threading.Thread(target=lambda: lines.put(process.stdout.readline()), daemon=True).start()
    try:
        first = lines.get(timeout=timeout)
    except queue.Empty:
        first = ""
    found = re.search(r"http://[^\s/]+", first)
    if not found:
        process.kill()
        process.wait()
        raise RuntimeError(f"the playground server did not start: {first.strip()} "
                           f"{log.read_text().strip()[-800:]}".strip())
    return found.group(0)


def wait_until_up(url: str, timeout: float) -> None:
    """Return once GET url answers with JSON; RuntimeError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as reply:
                json.loads(reply.read())
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"the playground server did not answer {url} within {timeout:.0f} s")


@contextlib.contextmanager
def serve(cwd: Path, timeout: float = 60.0):
    """The real playground server in a subprocess on a free loopback port, run in `cwd` (its
    saved runs go to cwd/playground-runs); yields its base URL and stops it on exit."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
           "LAYERLAB_LEDGER": "off"}
    log = Path(cwd) / "playground-server.log"
    with open(log, "w") as errors:
        process = subprocess.Popen(
            [sys.executable, "-m", "layerlab", "playground", "--no-browser", "--port", "0"],
            cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=errors, text=True)
    try:
        base = wait_for_address(process, log, timeout)
        wait_until_up(f"{base}/api/defaults", timeout)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stdout.close()


def train_and_shoot(chrome, base: str, query: str, epochs: int, out: Path) -> int:
    """Open the page at base/?query, train to `epochs`, pause, screenshot; the epoch shown."""
    page = chrome.new_page(viewport={"width": 1280, "height": 900})
    try:
        page.goto(f"{base}/?{query}", wait_until="load")
        page.wait_for_function("() => document.body.dataset.epoch === '0'", timeout=30000)
        page.click("#play")
        page.wait_for_function(f"() => Number(document.body.dataset.epoch) >= {epochs}",
                               timeout=120000)
        page.click("#play")
        page.wait_for_function("() => !document.querySelector('#play.running')", timeout=10000)
        page.wait_for_timeout(500)  # the last frame drawn
        page.mouse.move(5, 5)
        page.screenshot(path=str(out), full_page=True)
        return int(page.evaluate("() => Number(document.body.dataset.epoch)"))
    finally:
        page.close()


def main(argv=None):
    """Take the screenshot; print its path and the epoch it shows."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="docs/screenshots/playground.png")
    parser.add_argument("--query", default=QUERY, help="the setup, as in the page's URL")
    parser.add_argument("--epochs", type=int, default=150, help="train until this epoch")
    parser.add_argument("--chromium", help="the browser to drive (default: chromium on PATH)")
    args = parser.parse_args(argv)
    out = Path(args.out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        with tempfile.TemporaryDirectory() as work, serve(Path(work)) as base, \
                browser(args.chromium) as chrome:
            epoch = train_and_shoot(chrome, base, args.query.lstrip("?"), args.epochs, out)
    except (NoBrowser, RuntimeError) as err:
        print(f"playground_screenshot: {err}", file=sys.stderr)
        return 2
    print(f"{out} (epoch {epoch})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
