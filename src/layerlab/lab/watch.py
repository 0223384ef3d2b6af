"""`layerlab watch RUN_DIR`: follow a running run from its metrics.jsonl in the terminal.

Every --interval seconds the command reads the lines appended to metrics.jsonl since the last
look (never the whole file again) and status.json. On a terminal it redraws one view in place:
a line for the run, then per cell (the most recently active first, as many as fit) its latest
figures, each with a sparkline of its curve and the curve's range:

    quickstart · runs/quickstart-... · running · 2 cell(s) · last line 1 s ago
    lr=0.001 · epoch 2, iteration 30
      iter loss        2.076  ▇▆▇▆▅▅▄▄▃▃▃▂▂▁▁   1.901 .. 2.599  (30 points)
      epoch val_acc    0.33   ▁▇▇               0.104 .. 0.33   (3 points)

Redirected to a file or a pipe it prints instead one plain line per cell that moved, at most
once an interval, and at the end the whole view once. It ends, with exit status 0, when the
run's state is no longer running (status.json: finished, failed, interrupted, ...) and says how
it ended; Ctrl-C stops watching (the run goes on).
"""

from __future__ import annotations

import math
import shutil
import sys
import time
from pathlib import Path

from layerlab.lab.export import check_run_folder, row_figures
from layerlab.progress import duration
from layerlab.runfiles import loads, read_json

LIVE_STATES = ("running", "reporting")  # the run still works (training, then its report)
BLOCKS = "▁▂▃▄▅▆▇█"
KEEP = 2000  # points kept per curve (the latest), so a long run's watch stays small


def sparkline(values, width) -> str:
    """The values as one line of at most `width` block characters (means of equal slices when
    there are more values than columns); a slice with no finite value is '×'."""
    if not values or width <= 0:
        return ""
    n, columns = len(values), min(width, len(values))
    slices = [values[i * n // columns:(i + 1) * n // columns] for i in range(columns)]
    means = [_finite_mean(s) for s in slices]
    finite = [m for m in means if m is not None]
    low, high = (min(finite), max(finite)) if finite else (0.0, 0.0)
    span = high - low
    return "".join("×" if m is None else BLOCKS[round((m - low) / span * 7) if span else 3]
                   for m in means)


def _finite_mean(values):
    finite = [v for v in values if math.isfinite(v)]
    return sum(finite) / len(finite) if finite else None


def figure(value) -> str:
    """A figure as a person reads it: four significant digits."""
    return f"{value:.4g}"


class Tail:
    """The lines appended to a file since the last call (a line still being written waits)."""

    def __init__(self, path):
        self.path = Path(path)
        self.offset = 0
        self.rest = b""

    def new_rows(self) -> list[dict]:
        """The JSON objects of the complete lines written since the last call."""
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            return []
        if size < self.offset:  # the file was replaced by a shorter one: read it anew
            self.offset, self.rest = 0, b""
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            data = f.read()
        self.offset += len(data)
        *lines, self.rest = (self.rest + data).split(b"\n")
        rows = []
        for line in lines:
            try:
                row = loads(line.decode())
            except ValueError:  # a line cut short by a kill (or not JSON): skip it
                continue
            if isinstance(row, dict):
                rows.append(row)
        return rows


class Board:
    """The latest figures and curves of every cell, fed metrics lines one by one."""

    def __init__(self):
        self.cells: dict[str, dict] = {}
        self.lines_seen = 0

    def add(self, row):
        """Take one metrics line into its cell's curves."""
        self.lines_seen += 1
        cell = self.cells.setdefault(str(row.get("cell")), {"curves": {}, "where": {},
                                                            "counts": {}, "last": 0})
        kind = row.get("kind")
        cell["counts"][kind] = cell["counts"].get(kind, 0) + 1
        step, figures = row_figures(row, cell["counts"][kind])
        cell["last"] = self.lines_seen
        for key in ("epoch", "iteration", "step"):
            if isinstance(row.get(key), int):
                cell["where"][key] = row[key]
        for tag, value in figures:
            curve = cell["curves"].setdefault(tag, {})
            curve[step] = value  # a step written again (a resumed run) replaces the old value
            if len(curve) > KEEP:
                del curve[next(iter(curve))]

    def recent(self) -> list[str]:
        """The cells, the most recently active first."""
        return sorted(self.cells, key=lambda c: -self.cells[c]["last"])

    def head(self, name) -> str:
        """'lr=0.001 · epoch 2, iteration 30'."""
        where = self.cells[name]["where"]
        return name + (" · " + ", ".join(f"{k} {v}" for k, v in where.items()) if where
                       else "")

    def labels(self, name) -> dict[str, str]:
        """{tag: label}: 'iter loss' (kind and field), so the same field of two kinds (an
        iteration's loss, an epoch's mean loss) are told apart."""
        return {tag: tag.replace("/", " ", 1) for tag in self.cells[name]["curves"]}

    def plain(self, name) -> str:
        """One line: the cell, where it is and its latest figures."""
        curves, labels = self.cells[name]["curves"], self.labels(name)
        figures = ", ".join(f"{labels[t]} {figure(list(c.values())[-1])}"
                            for t, c in curves.items() if c)
        return f"{self.head(name)}: {figures}" if figures else self.head(name)

    def cell_view(self, name, width) -> list[str]:
        """The cell's head, then one line per curve: label, latest figure, sparkline, range."""
        curves, labels = self.cells[name]["curves"], self.labels(name)
        pad = max((len(v) for v in labels.values()), default=0)
        rows = []
        for tag, curve in curves.items():
            values = list(curve.values())
            finite = [v for v in values if math.isfinite(v)]
            span = f"{figure(min(finite))} .. {figure(max(finite))}" if finite else "no finite"
            rows.append((f"  {labels[tag]:<{pad}}  {figure(values[-1]):>9}  ", values,
                         f"  {span}  ({len(values)} points)"))
        # one sparkline width for the cell, so the ranges line up; the rest of the line fits
        room = width - max((len(a) + len(c) for a, _, c in rows), default=0)
        spark = max(8, min(60, room))
        return [self.head(name)] + [f"{a}{sparkline(v, spark):<{spark}}{c}" for a, v, c in rows]

    def view(self, title, width, height) -> list[str]:
        """The whole view in at most `height` lines (of about `width` characters: the
        sparklines fit it): the title, then the most recently active cells in full while they
        fit, then one line each, then how many more."""
        lines, rest = [title], self.recent()
        while rest and len(lines) + len(self.cell_view(rest[0], width)) <= height - 1:
            lines += self.cell_view(rest.pop(0), width)
        while rest and len(lines) < height - 1:
            lines.append(self.plain(rest.pop(0)))
        if rest:
            lines.append(f"... {len(rest)} more cell(s)")
        return lines


class Screen:
    """Where the view goes: redrawn in place on a terminal, plain lines elsewhere."""

    def __init__(self, stream):
        self.stream = stream
        self.live = _is_terminal(stream)
        self.drawn = 0  # lines of the last view on the terminal, to draw over

    def draw(self, lines):
        """Replace the last view (terminal: each line cut to its width, so none wraps and the
        cursor goes back up exactly) or print the lines."""
        if self.live:
            width = shutil.get_terminal_size((100, 40)).columns - 1
            lines = [line[:width] for line in lines]
        if self.live and self.drawn:
            self.stream.write(f"\033[{self.drawn}F\033[J")  # up to the view's start, clear
        self.stream.write("".join(line + "\n" for line in lines))
        self.stream.flush()
        self.drawn = len(lines) if self.live else 0


def _is_terminal(stream):
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def ended_line(name, status, run_dir) -> str:
    """How the run ended: 'quickstart finished after 2 min' (with the error, or how to go on)."""
    state = status.get("state")
    line = f"{name} {state}"
    if status.get("wall_time") is not None:
        line += f" after {duration(status['wall_time'])}"
    if status.get("error"):
        line += f": {status['error']}"
    if state == "interrupted":
        line += f" (continue it: layerlab run --resume {run_dir})"
    return line


def watch(run_dir, interval=2.0, stream=None) -> int:
    """Follow the run in `run_dir` until its state is no longer running; returns 0."""
    run_dir = Path(run_dir)
    stream = stream if stream is not None else sys.stdout
    name = (read_json(run_dir / "config.json") or {}).get("experiment", run_dir.name)
    tail, board, screen = Tail(run_dir / "metrics.jsonl"), Board(), Screen(stream)
    start = time.perf_counter()
    while True:
        status = read_json(run_dir / "status.json", {})  # before the lines: none is missed
        moved = {str(r.get("cell")) for r in _feed(board, tail)}
        state = status.get("state")
        ended = state is not None and state not in LIVE_STATES
        size = shutil.get_terminal_size((100, 40))
        title = _title(name, run_dir, state, board, tail.path)
        if screen.live or ended:
            screen.draw(board.view(title, size.columns - 1, 10**6 if not screen.live
                                   else size.lines - 1))
        elif moved:
            screen.draw([f"[{duration(time.perf_counter() - start)}] {board.plain(c)}"
                         for c in board.recent() if c in moved])
        if ended:
            stream.write(ended_line(name, status, run_dir) + "\n")
            stream.flush()
            return 0
        time.sleep(interval)


def _feed(board, tail) -> list[dict]:
    rows = tail.new_rows()
    for row in rows:
        board.add(row)
    return rows


def _title(name, run_dir, state, board, metrics) -> str:
    """'quickstart · runs/... · running · 2 cell(s) · last line 1 s ago'."""
    parts = [name, str(run_dir), state or "not started yet", f"{len(board.cells)} cell(s)"]
    try:
        parts.append(f"last line {duration(time.time() - metrics.stat().st_mtime)} ago")
    except FileNotFoundError:
        parts.append("no metrics yet")
    return " · ".join(parts)


def _interval(text) -> float:
    import argparse

    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not seconds > 0 or not math.isfinite(seconds):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds above 0")
    return seconds


def _watch(args) -> int:
    check_run_folder(Path(args.run_dir))
    try:
        return watch(args.run_dir, args.interval)
    except KeyboardInterrupt:
        print(f"\nstopped watching; the run goes on (follow it again: layerlab watch "
              f"{args.run_dir})", file=sys.stderr)
        return 130


def add_parser(subparsers):
    """Register `layerlab watch`."""
    p = subparsers.add_parser(
        "watch", help="follow a running run: its latest figures and curves, until it ends",
        description="Follow a run from its metrics.jsonl: per cell the latest figures and a "
        "small curve per metric, redrawn in place on a terminal (a plain line per cell that "
        "moved when redirected). Ends with exit status 0 when the run is no longer running, "
        "saying how it ended.")
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run folder (runs/NAME-...)")
    p.add_argument("--interval", type=_interval, default=2.0, metavar="SECONDS",
                   help="seconds between looks (default 2)")
    p.set_defaults(func=_watch)
