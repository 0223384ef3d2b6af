"""One progress line for the whole process, readable on a terminal and in a log.

Progress bars nest: a bar opened while another is open (a grid's cells, then the Solver's
steps inside one cell) joins the same line instead of drawing its own, so the overall progress
and its ETA stay in view:

    [lr: cells 1/3, 40 s, ETA 1 min] lr/learning_rate=0.001: train 120/300, loss 1.2345

The outermost bar leads (its counts, time so far and ETA, where the ETA counts the inner bar's
share of the current step); every inner bar follows with its label, counts and info. On a
terminal the line is redrawn in place (at most ten times a second, cut to the terminal's width
so it never wraps). On any other stream (a log file, a pipe) the same text is printed as a
plain line at most every PLAIN_EVERY seconds, never with carriage returns, and the lines
passed to `write` appear one per event (the Solver writes one per epoch), so logs stay clean.
"""

from __future__ import annotations

import shutil
import sys
import time
import weakref

PLAIN_EVERY = 10.0  # seconds between plain progress lines on a stream that is not a terminal
REDRAW_EVERY = 0.1  # seconds between redraws on a terminal

# The open bars, outermost first, held weakly: a bar left open by an exception disappears
# with the frame that made it, instead of leading every later line.
_OPEN: list[weakref.ref] = []
_LINE = {"drawn": 0.0, "plain": None}  # when the line was last redrawn / printed plainly


def duration(seconds) -> str:
    """'45 s', '4 min', '1 h 5 min': a wall time or ETA, as precise as a person reads it."""
    seconds = max(float(seconds), 0.0)
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min"


def open_bars() -> list[Progress]:
    """The bars open in this process, outermost first."""
    _OPEN[:] = [ref for ref in _OPEN if ref() is not None]
    return [ref() for ref in _OPEN]


def status_line() -> str:
    """The text of the progress line for the bars open now ('' when none is)."""
    bars = open_bars()
    if not bars:
        return ""
    outer, inner = bars[0], bars[1:]
    fraction = inner[0].count / inner[0].total if inner else 0.0
    head = f"[{outer.counts()}, {duration(outer.elapsed())}{outer.eta(fraction)}]"
    parts = [outer.info] if outer.info else []
    parts += [f"{bar.counts()}" + (f", {bar.info}" if bar.info else "") for bar in inner]
    return head + (" " + ": ".join(parts) if parts else "")


class Progress:
    """Progress over `total` steps, drawn on the process's one progress line.

    Args:
        total: number of steps; desc: label before the counts; stream: where to draw
        (stderr); enabled: False draws nothing (the bar does not join the line);
        unit: what a step is, e.g. 'cells' ('lr: cells 1/3').

    The first `update` marks the start: steps it reports (work done before, e.g. by a run
    that is resumed) count as done, and the rate behind the ETA is measured from it.
    `info` given to `update` is shown after the counts: for an outer bar, what it works on now
    (a cell's name), for an inner one a figure such as 'loss 1.23'.
    """

    def __init__(self, total, desc="", stream=None, enabled=True, unit=""):
        self.total = max(int(total), 1)
        self.desc = desc
        self.unit = unit
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self.count = 0
        self.info = ""
        self._start = time.perf_counter()
        self._base = None  # (count, time) of the first update: where the rate starts
        self._closed = False
        if enabled:
            if not open_bars():
                _LINE["plain"] = time.perf_counter()  # the first plain line after PLAIN_EVERY
            _OPEN.append(weakref.ref(self))

    @property
    def live(self):
        """True when the line is redrawn in place: the leading bar's stream is a terminal."""
        bars = open_bars()
        lead = bars[0] if bars else self
        return self.enabled and _is_terminal(lead.stream)

    def counts(self) -> str:
        """'lr: cells 1/3' (label, unit, done/total)."""
        label = f"{self.desc}: " if self.desc and self.unit else f"{self.desc} " if self.desc \
            else ""
        unit = f"{self.unit} " if self.unit else ""
        return f"{label}{unit}{self.count}/{self.total}"

    def elapsed(self) -> float:
        """Seconds since the bar was made."""
        return time.perf_counter() - self._start

    def eta(self, fraction=0.0) -> str:
        """', ETA 4 min' from the rate since the first update ('' before there is one);
        `fraction` is the share of the current step already done (from an inner bar)."""
        if self._base is None:
            return ""
        done = self.count + fraction - self._base[0]
        spent = time.perf_counter() - self._base[1]
        if done <= 0 or spent <= 0 or self.count >= self.total:
            return ""
        return f", ETA {duration(spent / done * (self.total - self.count - fraction))}"

    def update(self, n=1, info=""):
        """Advance by n steps; `info` is shown after the counts (e.g. 'loss 1.23')."""
        self.count = min(self.count + n, self.total)
        self.info = info or self.info
        if self._base is None:
            self._base = (self.count, time.perf_counter())
        if self.enabled:
            _refresh(self, final=self.count == self.total)

    def write(self, line):
        """Print a log line (above the progress line on a terminal)."""
        lead = _lead(self)
        if self.live:
            lead.stream.write("\r\033[K")
            lead.stream.flush()
        self.stream.write(line + "\n")
        self.stream.flush()
        if self.live:
            _draw(lead.stream)

    def close(self):
        """Leave the line; the outermost bar ends it (a terminal's line is kept, finished)."""
        if not self.enabled or self._closed:
            return
        self._closed = True
        lead = _lead(self)
        if lead is self and self.live:
            _draw(self.stream)
            self.stream.write("\n")
            self.stream.flush()
        _OPEN[:] = [ref for ref in _OPEN if ref() is not None and ref() is not self]
        if lead is not self and self.live:
            _draw(lead.stream)  # the outer bar's line without this one

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _is_terminal(stream):
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def _lead(bar):
    bars = open_bars()
    return bars[0] if bars else bar


def _refresh(bar, final=False):
    """Redraw the line on a terminal (throttled), or print it plainly every PLAIN_EVERY."""
    lead = _lead(bar)
    now = time.perf_counter()
    if _is_terminal(lead.stream):
        if final or now - _LINE["drawn"] > REDRAW_EVERY:
            _draw(lead.stream)
            _LINE["drawn"] = now
    elif _LINE["plain"] is None or now - _LINE["plain"] >= PLAIN_EVERY:
        lead.stream.write(status_line() + "\n")
        lead.stream.flush()
        _LINE["plain"] = now


def _draw(stream):
    width = shutil.get_terminal_size((100, 20)).columns - 1  # the last column would wrap
    stream.write("\r\033[K" + status_line()[:width])
    stream.flush()
