"""The playground's speed as a browser sees it: a real `layerlab playground` server in a
subprocess, driven over its real WebSocket on loopback.

    python benchmarks/playground.py [--seconds 5] [--steps 60]
    python benchmarks/playground.py --profile [--frames 300]

Setup: dataset circle, 500 points (250 for training), features x1, x2, hidden 8, 8 (the
TensorFlow Playground's 2-8-8-1 net; our classifier's output is two softmax units), tanh, SGD,
batch 10.

What "per second" counts (layerlab's goal: at least 30 frames a second): after `play`, the
`frame` messages the client receives in `--seconds` of wall time, counting only frames whose
`step` (minibatches trained since the reset) is above the previous frame's, i.e. frames that
each follow at least one minibatch of training; divided by the seconds. Also while playing: the
minibatches ("training steps") and epochs trained per second, and the server's CPU time per
frame with its training. Before playing: the latency of a `step` message (one epoch and its
frame, from sending to the frame's arrival; median and 95th percentile), the server's CPU time
per `step`, and per frame alone (a `pause` while paused: one frame of the net as it is, no
training). The CPU times barely depend on the machine's load (the rates fall with the share of
CPU the server gets): the load average is printed at the start and the end.

`--profile` runs the play loop's work in this process instead (train 1/60 s of wall time,
build the frame, encode its JSON) under cProfile on CPU time, and prints each part's CPU time
per frame, also scaled to the frame's cost measured without the profiler (which inflates
Python-heavy parts), and what permessage-deflate would add per frame if the socket compressed.

Prints the machine first (the server runs with the same BLAS and threads), then a table; the
last line is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
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
PROFILE_SLICE = 1 / 60  # seconds of training per profiled frame
SMALL = 2e-5  # seconds per frame: a part of the frame below it is counted in "the rest"


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


def cpu_ms_per(pid, before, count):
    """Milliseconds of the process's CPU time per item since `before` (None off Linux)."""
    after = cpu_seconds(pid)
    return None if before is None or after is None or not count else \
        (after - before) / count * 1000


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


def step_latency(ws, steps, pid):
    """(seconds from sending `step` to receiving its frame, `steps` times after 5 warm-ups;
    server CPU ms per step)."""
    times = []
    for i in range(steps + 5):
        if i == 5:
            cpu = cpu_seconds(pid)
        start = time.perf_counter()
        ws.send(json.dumps({"type": "step"}))
        until(ws, "frame")
        if i >= 5:
            times.append(time.perf_counter() - start)
    return np.array(times), cpu_ms_per(pid, cpu, steps)


def frame_alone(ws, count, pid):
    """Server CPU ms per frame without training: `pause` while paused answers one frame."""
    cpu = cpu_seconds(pid)
    for _ in range(count):
        ws.send(json.dumps({"type": "pause"}))
        until(ws, "frame")
    return cpu_ms_per(pid, cpu, count)


def playing(ws, seconds, pid):
    """Figures of `seconds` of play: frames (each after training), minibatches and epochs per
    second, frames without training, mean frame bytes, server CPU ms per frame."""
    ws.send(json.dumps({"type": "play"}))
    first, _ = until(ws, "frame")
    cpu = cpu_seconds(pid)
    start, frames, idle, size, last = time.perf_counter(), 0, 0, 0, first
    while time.perf_counter() - start < seconds:
        frame, n = until(ws, "frame")
        if frame["step"] > last["step"]:
            frames += 1
        else:
            idle += 1
        size, last = size + n, frame
    elapsed = time.perf_counter() - start
    cpu_ms = cpu_ms_per(pid, cpu, frames + idle)
    ws.send(json.dumps({"type": "pause"}))
    while until(ws, "frame")[0]["running"]:
        pass
    return {"fps": frames / elapsed, "idle": idle,
            "steps": (last["step"] - first["step"]) / elapsed,
            "epochs": (last["epoch"] - first["epoch"]) / elapsed,
            "bytes": size / max(frames + idle, 1), "cpu_ms": cpu_ms}


def measure_server(args):
    """Every figure of the real server over its WebSocket."""
    from websockets.sync.client import connect

    with tempfile.TemporaryDirectory() as runs:
        proc, url = start_server(runs)
        try:
            with connect(url, max_size=2**24) as ws:
                compressed = ws.response.headers.get("Sec-WebSocket-Extensions") is not None
                ws.send(json.dumps({"type": "setup", "setup": SETUP}))
                until(ws, "frame")
                latency, step_cpu = step_latency(ws, args.steps, proc.pid)
                alone_cpu = frame_alone(ws, args.steps, proc.pid)
                play = playing(ws, args.seconds, proc.pid)
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=30)
    return {**play, "latency": latency, "step_cpu": step_cpu, "alone_cpu": alone_cpu,
            "compressed": compressed}


def ms(value):
    """Milliseconds for the table, or 'unknown'."""
    return "unknown" if value is None else f"{value:.1f} ms"


def rounded(value):
    """A figure for the JSON line (None stays None)."""
    return None if value is None else round(value, 2)


def run_benchmark(args):
    """Measure the server over its WebSocket and print the table and the JSON line."""
    info = print_machine(machine())
    load_start = os.getloadavg()[0]
    f = measure_server(args)
    load_end = os.getloadavg()[0]
    median, p95 = float(np.median(f["latency"])), float(np.percentile(f["latency"], 95))
    print_table(["measure", "value"], [
        ["frames per second while playing (each after >= 1 minibatch)",
         f"{f['fps']:.1f} (goal >= {GOAL_FPS})"],
        ["frames without training between them (not counted)", f["idle"]],
        ["training steps (minibatches) per second while playing", f"{f['steps']:.0f}"],
        ["epochs trained per second while playing", f"{f['epochs']:.1f}"],
        ["server CPU time per frame while playing (training included)", ms(f["cpu_ms"])],
        ["server CPU time per frame alone (a pause's reply, no training)", ms(f["alone_cpu"])],
        ["server CPU time per step message (one epoch and its frame)", ms(f["step_cpu"])],
        ["mean frame size", f"{f['bytes'] / 1000:.0f} kB"],
        ["WebSocket compression (permessage-deflate)", "on" if f["compressed"] else "off"],
        ["load average (1 min) at the start / end",
         f"{load_start:.1f} / {load_end:.1f} on {os.cpu_count()} cores"],
        ["step latency, median", f"{median * 1000:.1f} ms"],
        ["step latency, p95", f"{p95 * 1000:.1f} ms"],
        ["steps timed / seconds played", f"{len(f['latency'])} / {args.seconds:g}"]])
    print_json({"benchmark": "playground", "net": "2-8-8-2 (softmax), circle, 500 points",
                "frames_per_second": round(f["fps"], 2), "goal_frames_per_second": GOAL_FPS,
                "goal_met": f["fps"] >= GOAL_FPS, "frames_without_training": f["idle"],
                "steps_per_second": round(f["steps"], 1),
                "epochs_per_second": round(f["epochs"], 2),
                "server_cpu_ms_per_frame": rounded(f["cpu_ms"]),
                "server_cpu_ms_per_frame_alone": rounded(f["alone_cpu"]),
                "server_cpu_ms_per_step": rounded(f["step_cpu"]),
                "step_latency_median_ms": round(median * 1000, 2),
                "step_latency_p95_ms": round(p95 * 1000, 2),
                "frame_bytes": round(f["bytes"]), "compressed": f["compressed"],
                "load_average_start": round(load_start, 2),
                "load_average_end": round(load_end, 2), "blas": info.get("blas"),
                "blas_kernel": info.get("blas_kernel"), "blas_threads": info.get("blas_threads")})


def deflate_ms(text, repeat=50):
    """CPU ms to compress one frame as the WebSocket's permessage-deflate would (websockets'
    own extension, context kept between frames as its default is)."""
    from websockets.extensions.permessage_deflate import PerMessageDeflate
    from websockets.frames import Frame, Opcode

    ext = PerMessageDeflate(False, False, 15, 15)
    data = text.encode()
    start = time.process_time()
    for _ in range(repeat):
        ext.encode(Frame(Opcode.TEXT, data))
    return (time.process_time() - start) / repeat * 1000


def frame_cost(session, frames):
    """CPU ms to build and encode one frame after training, without a profiler: set_weight
    (to the weight's own value) voids what training voids and answers one frame."""
    from layerlab.playground.server import encode

    start = time.process_time()
    for _ in range(frames):
        w = float(session.model.params["W1"][0, 0])
        texts = [encode(m) for m in session.set_weight(0, 0, 0, w)]
    return (time.process_time() - start) / frames * 1000, texts[-1]


def profile_parts(session, frames):
    """[part, CPU ms per frame] of `frames` turns of the play loop's work under cProfile."""
    from layerlab.playground.server import encode

    profiler = cProfile.Profile(time.process_time)  # CPU time, as the benchmark's
    for _ in range(frames):
        profiler.enable()
        [encode(m) for m in session.advance(PROFILE_SLICE)]
        profiler.disable()
    stats = pstats.Stats(profiler).stats
    frame_key = next(k for k in stats if k[2] == "frame" and k[0].endswith("session.py"))
    rows = [["training (minibatches, the per-epoch record)",
             sum(v[3] for k, v in stats.items() if k[2] == "_train_batches")]]
    callees = [(k, v[4][frame_key][3]) for k, v in stats.items() if frame_key in v[4]]
    shown = [(k, t) for k, t in callees if t / frames > SMALL]
    for key, seconds in sorted(shown, key=lambda kv: -kv[1]):
        rows.append([f"frame: {key[2]}", seconds])
    rows.append(["frame: the rest (its own lines, small calls)",
                 stats[frame_key][3] - sum(seconds for _, seconds in shown)])
    rows.append(["JSON encoding (orjson)",
                 sum(v[3] for k, v in stats.items() if k[2] == "encode")])
    return [[name, seconds / frames * 1000] for name, seconds in rows]


def run_profile(args):
    """Print the per-part CPU time of the play loop's work per frame."""
    from layerlab.playground.session import Session

    print_machine(machine())
    with tempfile.TemporaryDirectory() as runs:
        session = Session(runs, SETUP)
        session.running = True
        for _ in range(20):  # past the first epochs' start-up
            session.advance(PROFILE_SLICE)
        rows = profile_parts(session, args.frames)
        frame_ms, text = frame_cost(session, args.frames)
    profiled = sum(value for _, value in rows[1:])
    scale = frame_ms / profiled  # what the profiler added, taken out in proportion
    deflate = deflate_ms(text)
    print_table(["part", "CPU ms per frame (cProfile)", "scaled to the unprofiled frame"], [
        *[[name, f"{value:.3f}", "" if i == 0 else f"{value * scale:.3f}"]
          for i, (name, value) in enumerate(rows)],
        ["frame built and encoded (all but training)", f"{profiled:.3f}", f"{frame_ms:.3f}"],
        ["permessage-deflate of the frame, if the socket compressed", "", f"{deflate:.3f}"],
        ["frame size", "", f"{len(text) / 1000:.1f} kB"],
        ["load average (1 min)", "", f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"]])
    print_json({"benchmark": "playground-profile", "frames": args.frames,
                "training_slice_s": round(PROFILE_SLICE, 4),
                "parts_ms_per_frame_scaled": {name: round(v * scale, 3)
                                              for name, v in rows[1:]},
                "frame_ms": round(frame_ms, 3), "deflate_ms": round(deflate, 3),
                "frame_bytes": len(text), "load_average": round(os.getloadavg()[0], 2)})


def main():
    """Run the benchmark over the WebSocket, or with --profile the in-process breakdown."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds of play measured")
    parser.add_argument("--steps", type=int, default=60,
                        help="step messages timed (and pause messages for a frame's cost)")
    parser.add_argument("--profile", action="store_true",
                        help="the play loop's parts per frame, in this process")
    parser.add_argument("--frames", type=int, default=300, help="frames profiled")
    args = parser.parse_args()
    (run_profile if args.profile else run_benchmark)(args)


if __name__ == "__main__":
    main()
