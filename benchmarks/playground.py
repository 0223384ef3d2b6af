"""The playground's speed as a browser sees it: a real `layerlab playground` server in a
subprocess, driven over its real WebSocket on loopback.

    python benchmarks/playground.py [--seconds 5] [--steps 60]

Setup: dataset circle, 500 points (250 for training), features x1, x2, hidden 8, 8 (the
TensorFlow Playground's 2-8-8-1 net; our classifier's output is two softmax units), tanh, SGD,
batch 10. Measures, while playing, the frames received per second (each frame follows at least
one minibatch of training; the goal is >= 30 a second) and the epochs trained per second; and
the latency of one `step` message (one epoch and its frame, from sending to the frame's arrival):
median and 95th percentile. The server's CPU time per frame and the machine's load average are
printed too: on a machine busy with other work the rates fall with the share of CPU the server
gets, while its CPU time per frame does not. Prints the machine first (the server runs with
the same BLAS and threads), then a table; the last line is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from layerlab.timing import machine, print_json, print_machine, print_table

SETUP = {"dataset": "circle", "points": 500, "features": "x1,x2", "hidden": "8,8",
         "activation": "tanh", "optimizer": "sgd", "lr": 0.03, "batch": 10, "seed": 0}
GOAL_FPS = 30


def start_server(runs):
    """The server subprocess and its ws:// address."""
    proc = subprocess.Popen([sys.executable, "-m", "layerlab", "playground", "--no-browser",
                             "--port", "0", "--runs", runs], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    line = proc.stdout.readline()
    if not line.startswith("layerlab playground: http://"):
        proc.kill()
        raise SystemExit(f"the server did not start: {line!r}")
    return proc, line.split()[2].replace("http://", "ws://") + "ws"


def cpu_seconds(pid):
    """User + system CPU seconds of a process so far (Linux /proc), or None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def until(ws, kind):
    """Receive until a message of type `kind`; returns it and the bytes received."""
    size = 0
    while True:
        text = ws.recv()
        size += len(text)
        message = json.loads(text)
        if message["type"] == "error":
            raise SystemExit(f"the server answered an error: {message['message']}")
        if message["type"] == kind:
            return message, size


def step_latency(ws, steps):
    """Seconds from sending `step` to receiving its frame, `steps` times (after 5 warm-ups)."""
    times = []
    for i in range(steps + 5):
        start = time.perf_counter()
        ws.send(json.dumps({"type": "step"}))
        until(ws, "frame")
        if i >= 5:
            times.append(time.perf_counter() - start)
    return np.array(times)


def playing(ws, seconds, pid):
    """(frames per second, epochs per second, mean frame bytes, server CPU ms per frame) over
    `seconds` of play."""
    ws.send(json.dumps({"type": "play"}))
    first, _ = until(ws, "frame")
    cpu = cpu_seconds(pid)
    start, frames, size, last = time.perf_counter(), 0, 0, first
    while time.perf_counter() - start < seconds:
        last, n = until(ws, "frame")
        frames, size = frames + 1, size + n
    elapsed = time.perf_counter() - start
    cpu = cpu_seconds(pid) - cpu if cpu is not None else None
    ws.send(json.dumps({"type": "pause"}))
    while until(ws, "frame")[0]["running"]:
        pass
    per_frame = cpu / frames * 1000 if cpu is not None and frames else None
    return (frames / elapsed, (last["epoch"] - first["epoch"]) / elapsed,
            size / max(frames, 1), per_frame)


def main():
    """Start the server, time step messages, play, and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds of play measured")
    parser.add_argument("--steps", type=int, default=60, help="step messages timed")
    args = parser.parse_args()
    from websockets.sync.client import connect

    info = print_machine(machine())
    with tempfile.TemporaryDirectory() as runs:
        proc, url = start_server(runs)
        try:
            with connect(url, max_size=2**24) as ws:
                ws.send(json.dumps({"type": "setup", "setup": SETUP}))
                until(ws, "frame")
                latency = step_latency(ws, args.steps)
                fps, epochs, frame_bytes, cpu_ms = playing(ws, args.seconds, proc.pid)
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=30)
    median, p95 = float(np.median(latency)), float(np.percentile(latency, 95))
    print_table(["measure", "value"], [
        ["frames per second while playing", f"{fps:.1f} (goal >= {GOAL_FPS})"],
        ["epochs trained per second while playing", f"{epochs:.1f}"],
        ["mean frame size", f"{frame_bytes / 1000:.0f} kB"],
        ["server CPU time per frame (training included)",
         "unknown" if cpu_ms is None else f"{cpu_ms:.1f} ms"],
        ["load average (1 min) at the end", f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} "
         "cores"],
        ["step latency, median", f"{median * 1000:.1f} ms"],
        ["step latency, p95", f"{p95 * 1000:.1f} ms"],
        ["steps timed / seconds played", f"{len(latency)} / {args.seconds:g}"]])
    print_json({"benchmark": "playground", "net": "2-8-8-2 (softmax), circle, 500 points",
                "frames_per_second": round(fps, 2), "epochs_per_second": round(epochs, 2),
                "goal_frames_per_second": GOAL_FPS, "goal_met": fps >= GOAL_FPS,
                "step_latency_median_ms": round(median * 1000, 2),
                "step_latency_p95_ms": round(p95 * 1000, 2),
                "frame_bytes": round(frame_bytes),
                "server_cpu_ms_per_frame": None if cpu_ms is None else round(cpu_ms, 2),
                "load_average": round(os.getloadavg()[0], 2), "blas": info.get("blas"),
                "blas_kernel": info.get("blas_kernel"), "blas_threads": info.get("blas_threads")})


if __name__ == "__main__":
    main()
