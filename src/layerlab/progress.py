"""A progress bar that stays readable when output is not a terminal.

On a terminal the bar redraws one line in place (at most ten times a second). Redirected to a
file, it draws nothing, and only the lines passed to `write` appear, one per event (the Solver
writes one per epoch), so logs stay clean.
"""

from __future__ import annotations

import sys
import time


class Progress:
    """Progress over `total` steps.

    Args:
        total: number of steps; desc: label before the bar; stream: where to draw (stderr).
    """

    def __init__(self, total, desc="", stream=None, enabled=True):
        self.total = max(int(total), 1)
        self.desc = desc
        self.stream = stream if stream is not None else sys.stderr
        self.live = enabled and hasattr(self.stream, "isatty") and self.stream.isatty()
        self.count = 0
        self.info = ""
        self._start = time.perf_counter()
        self._last_draw = 0.0

    def update(self, n=1, info=""):
        """Advance by n steps; `info` is shown after the bar (e.g. 'loss 1.23')."""
        self.count = min(self.count + n, self.total)
        self.info = info or self.info
        now = time.perf_counter()
        if self.live and (now - self._last_draw > 0.1 or self.count == self.total):
            self._draw()
            self._last_draw = now

    def write(self, line):
        """Print a log line (above the bar on a terminal)."""
        if self.live:
            self.stream.write("\r\033[K")
        self.stream.write(line + "\n")
        if self.live:
            self._draw()
        self.stream.flush()

    def close(self):
        """Finish the bar's line."""
        if self.live:
            self._draw()
            self.stream.write("\n")
            self.stream.flush()

    def _draw(self):
        width = 30
        filled = int(width * self.count / self.total)
        elapsed = time.perf_counter() - self._start
        eta = elapsed / self.count * (self.total - self.count) if self.count else 0.0
        bar = "#" * filled + "-" * (width - filled)
        self.stream.write(f"\r\033[K{self.desc} [{bar}] {self.count}/{self.total} "
                          f"{elapsed:.0f}s<{eta:.0f}s {self.info}")
        self.stream.flush()
