"""`layerlab playground` as a user starts it: the real command in a subprocess, on a free port,
fetched over loopback HTTP and its WebSocket; a taken port and a missing extra each end in one
clear line."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.request

import pytest

pytest.importorskip("uvicorn")
from websockets.sync.client import connect  # noqa: E402  (the playground extra has it)

WITHOUT_UVICORN = """
import sys

class NoUvicorn:
    def find_spec(self, name, path=None, target=None):
        if name == "uvicorn" or name.startswith("uvicorn."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)

sys.meta_path.insert(0, NoUvicorn())
from layerlab.cli import main
sys.exit(main(sys.argv[1:]))
"""


def command(*args):
    return [sys.executable, "-m", "layerlab", "playground", "--no-browser", *args]


def test_the_command_serves_the_page_and_the_api_on_loopback(tmp_path):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(command("--port", "0", "--runs", str(tmp_path / "runs")),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = proc.stdout.readline()
        assert line.startswith("layerlab playground: http://127.0.0.1:"), line
        url = line.split()[2]
        with urllib.request.urlopen(url, timeout=20) as reply:
            assert reply.status == 200
            assert "<html" in reply.read().decode().lower()
        with urllib.request.urlopen(url + "api/defaults", timeout=20) as reply:
            assert json.loads(reply.read())["setup"]["dataset"] == "circle"
        # the client offers permessage-deflate (as browsers do); frames go uncompressed
        with connect(url.replace("http://", "ws://") + "ws", open_timeout=20) as ws:
            assert ws.response.headers.get("Sec-WebSocket-Extensions") is None
            ws.send(json.dumps({"type": "setup", "setup": {"points": 50}}))
            assert [json.loads(ws.recv(timeout=20))["type"] for _ in range(2)] == [
                "setup", "frame"]
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, proc.stderr.read()
    assert proc.stdout.read().strip() == "layerlab playground: stopped"


def test_a_taken_port_ends_in_one_line_naming_the_fix():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        done = subprocess.run(command("--port", str(port)), capture_output=True, text=True,
                              timeout=60)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"layerlab playground: port {port} is taken on 127.0.0.1: pick another with --port N "
        "(0: any free port)"]


def test_a_missing_extra_names_the_install_in_one_line():
    done = subprocess.run([sys.executable, "-c", WITHOUT_UVICORN, "playground", "--no-browser"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "layerlab playground needs uvicorn: pip install 'layerlab[playground]'"]
