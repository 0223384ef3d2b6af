"""The one progress line: overall progress with its ETA, then the inner bar, on a terminal
(redrawn in place) and on a log (a plain line at most every PLAIN_EVERY seconds)."""

import contextlib
import io
import os
import pty
import re
import select

from layerlab import progress
from layerlab.progress import Progress


def test_nested_bars_print_one_plain_line_on_a_log(monkeypatch):
    log = io.StringIO()
    monkeypatch.setattr(progress, "PLAIN_EVERY", 0.0)  # every update may print
    outer = Progress(3, "lr", log, unit="cells")
    outer.update(1, "lr=0.1")
    inner = Progress(10, "train", log)
    inner.update(5, "loss 1.0000")
    inner.close()
    outer.close()
    lines = log.getvalue().splitlines()
    assert "\r" not in log.getvalue() and "\033" not in log.getvalue()
    assert re.fullmatch(r"\[lr: cells 1/3, \d+ s\] lr=0\.1", lines[0])
    assert re.fullmatch(r"\[lr: cells 1/3, \d+ s, ETA \d+ s\] lr=0\.1: train 5/10, "
                        r"loss 1\.0000", lines[1])


def test_plain_lines_wait_for_plain_every():
    log = io.StringIO()
    bar = Progress(1000, "train", log)
    for _ in range(1000):
        bar.update(1)
    bar.write("(Epoch 1 / 1) done")
    bar.close()
    assert log.getvalue() == "(Epoch 1 / 1) done\n"  # far under PLAIN_EVERY: no status line


def test_on_a_terminal_the_line_is_redrawn_in_place():
    master, slave = pty.openpty()
    with os.fdopen(slave, "w") as terminal:
        outer = Progress(2, "lr", terminal, unit="cells")
        outer.update(0)
        inner = Progress(4, "train", terminal)
        inner.update(4, "loss 0.5000")
        inner.write("(Epoch 1 / 1) train acc: 0.5")
        inner.close()
        outer.update(1)
        outer.close()
    text = ""
    with contextlib.suppress(OSError):  # EIO: all read, and the terminal's other end closed
        while select.select([master], [], [], 0.5)[0]:  # it hands the text out in pieces
            text += os.read(master, 65536).decode()
    os.close(master)
    frames = text.split("\r\x1b[K")
    assert any(re.fullmatch(r"\[lr: cells 0/2, \d+ s(, ETA \d+ s)?\] train 4/4, "
                            r"loss 0\.5000", f) for f in frames)
    assert "(Epoch 1 / 1) train acc: 0.5\r\n" in frames  # the log line, above the bar
    # closed: the outer bar's last state stays on screen, and the line ends
    assert re.search(r"\r\x1b\[K\[lr: cells 1/2, \d+ s(, ETA \d+ s)?\]\r\n$", text)


def test_a_bar_left_open_by_an_error_does_not_lead_later_lines(monkeypatch):
    monkeypatch.setattr(progress, "PLAIN_EVERY", 0.0)

    def fails():
        bar = Progress(5, "broken", io.StringIO())
        bar.update(1)
        raise RuntimeError

    try:
        fails()
    except RuntimeError:
        pass
    log = io.StringIO()
    bar = Progress(2, "next", log)
    bar.update(1)
    bar.close()
    assert log.getvalue().startswith("[next 1/2, ")


def test_durations_read_as_a_person_reads_them():
    assert [progress.duration(s) for s in (3.4, 59, 61, 1860, 3900)] == \
        ["3 s", "59 s", "1 min", "31 min", "1 h 5 min"]
