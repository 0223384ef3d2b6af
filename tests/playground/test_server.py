"""The playground's server through its real HTTP routes and WebSocket (Starlette's TestClient):
input validation, training, divergence, uploads, saving a run that `layerlab report` renders,
and two sessions training at once."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")

with warnings.catch_warnings():  # newer Starlette would rather have httpx2; httpx still works
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient  # noqa: E402

from layerlab.playground import setup as setups  # noqa: E402
from layerlab.playground.server import create_app  # noqa: E402

SPIRAL3 = {"dataset": "spiral", "classes": 3, "hidden": "8,8", "activation": "relu",
           "optimizer": "adam", "lr": 0.01, "points": 500, "seed": 1,
           "features": "x1,x2,sinx1,sinx2"}


@pytest.fixture
def client(tmp_path):
    with TestClient(create_app(tmp_path / "runs")) as c:
        yield c


def receive(ws, kind, limit=200):
    """Messages up to and including the first of type `kind` (errors fail the test unless
    asked for)."""
    seen = []
    for _ in range(limit):
        message = ws.receive_json()
        seen.append(message)
        if message["type"] == kind:
            return message, seen
        assert message["type"] != "error" or kind == "error", message
    raise AssertionError(f"no {kind} in {[m['type'] for m in seen]}")


def send_setup(ws, **changes):
    ws.send_json({"type": "setup", "setup": changes})
    setup, _ = receive(ws, "setup")
    frame, _ = receive(ws, "frame")
    return setup, frame


def test_defaults_list_every_parameter_and_presets_for_each_study(client):
    body = client.get("/api/defaults").json()
    assert list(body["setup"]) == list(setups.PARAMS)
    assert body["setup"]["dataset"] == "circle" and body["setup"]["hidden"] == [4, 2]
    assert body["limits"]["lr"]["min"] == 1e-5 and body["limits"]["lr"]["max"] == 10
    assert "spiral" in body["limits"]["dataset"]["choices"]
    presets = body["presets"]
    assert {"zero-init", "random-init", "dying-relu-sorted", "dying-relu-shuffled",
            "or-no-hidden", "xor-no-hidden", "xor-hidden"} <= set(presets)
    for preset in presets.values():
        assert "S7" in preset["description"]
        assert setups.validate(preset["setup"]) == preset["setup"]
    assert presets["zero-init"]["setup"]["init"] == "zeros"
    assert presets["dying-relu-sorted"]["setup"]["order"] == "sorted"
    assert presets["xor-no-hidden"]["setup"]["hidden"] == []


def test_check_returns_the_canonical_query_and_it_reads_back(client):
    reply = client.post("/api/check", json={"query": "hidden=8,8&classes=3&dataset=spiral"})
    assert reply.status_code == 200
    body = reply.json()
    assert body["setup"]["classes"] == 3 and body["setup"]["hidden"] == [8, 8]
    assert body["query"].startswith("dataset=spiral&classes=3&")
    assert "hidden=8,8" in body["query"]
    again = client.post("/api/check", json={"query": body["query"]}).json()
    assert again == body
    assert client.post("/api/check", json={"query": "hidden="}).json()["setup"]["hidden"] == []


@pytest.mark.parametrize("query, field, words", [
    ("lr=100", "lr", "lr must be a number from 1e-05 to 10"),
    ("lr=nan", "lr", "lr must be"),
    ("hidden=4,9", "hidden", "widths, each 1..8"),
    ("hidden=1,1,1,1,1,1,1", "hidden", "at most 6"),
    ("features=x1,x3", "features", "x1sq"),
    ("features=", "features", "at least 1"),
    ("dataset=moons", "dataset", "one of circle"),
    ("classes=3", "classes", "dataset=spiral"),
    ("points=10", "points", "from 50 to 2000"),
    ("batch=2.5", "batch", "a whole number"),
    ("batchnorm=1&batch=1", "batch", "at least 2"),
    ("colour=red", "colour", "unknown parameter"),
    ("lr=0.1&lr=0.2", "lr", "twice"),
])
def test_check_refuses_a_bad_parameter_naming_it(client, query, field, words):
    reply = client.post("/api/check", json={"query": query})
    assert reply.status_code == 400
    assert reply.json()["field"] == field
    assert words in reply.json()["error"]


def test_check_refuses_a_body_that_is_not_the_query(client):
    assert client.post("/api/check", content=b"{not json").status_code == 400
    assert client.post("/api/check", json={"query": 5}).status_code == 400
    assert client.post("/api/check", content=b"x" * 70_000).status_code == 413


def test_bad_messages_get_errors_and_the_session_still_trains(client):
    with client.websocket_connect("/ws") as ws:
        ws.send_text("not json")
        assert receive(ws, "error")[0]["field"] is None
        ws.send_json({"type": "fly"})
        assert "unknown message type" in receive(ws, "error")[0]["message"]
        ws.send_json({"type": "setup", "setup": {"lr": "fast"}})
        error, _ = receive(ws, "error")
        assert error["field"] == "lr" and "lr='fast'" in error["message"]
        ws.send_json({"type": "setup", "setup": "lr=1"})
        assert receive(ws, "error")[0]["field"] == "setup"
        ws.send_json({"type": "setup", "setup": {"lr": "9" * 100_000}})
        assert len(receive(ws, "error")[0]["message"]) < 200  # quoted, not echoed whole
        ws.send_json({"type": "set_weight", "layer": 9, "row": 0, "col": 0, "value": 1})
        assert receive(ws, "error")[0]["field"] == "layer"
        ws.send_json({"type": "add_point", "x1": 99, "x2": 0, "label": 1})
        assert receive(ws, "error")[0]["field"] == "x1"
        ws.send_json({"type": "setup", "setup": {"dataset": "custom"}})
        assert receive(ws, "error")[0]["field"] == "dataset"
        setup, frame = send_setup(ws, lr="0.1")
        assert setup["setup"]["lr"] == 0.1 and setup["setup"]["dataset"] == "circle"
        ws.send_json({"type": "step"})
        frame, _ = receive(ws, "frame")
        assert frame["epoch"] == 1 and frame["train_loss"] is not None


def test_a_few_epochs_on_three_spiral_arms_lower_the_loss_and_fill_the_frame(client):
    with client.websocket_connect("/ws") as ws:
        setup, first = send_setup(ws, **SPIRAL3)
        assert setup["problem"] == "classification"
        assert len(setup["points"]["train"]) == 250 and len(setup["points"]["test"]) == 250
        assert {p[2] for p in setup["points"]["train"]} == {0, 1, 2}
        for _ in range(15):
            ws.send_json({"type": "step"})
            frame, _ = receive(ws, "frame")
        assert frame["epoch"] == 15 and frame["step"] == 15 * 25
        assert frame["test_loss"] < first["test_loss"] - 0.1
        assert frame["train_acc"] > first["train_acc"]
        assert [h[0] for h in frame["history"]] == list(range(16))
        out = frame["output"]
        assert len(out["values"]) == 50 * 50 and set(out["classes"]) <= {0, 1, 2}
        assert out["values"] != first["output"]["values"]
        assert [len(layer) for layer in frame["units"]] == [8, 8]
        assert len(frame["units"][0][0]["values"]) == 20 * 20
        assert [len(w) for w in frame["weights"]] == [4, 8, 8]
        assert len(frame["weights"][2][0]) == 3 and len(frame["biases"][2]) == 3
        layer = frame["layers"][0]
        assert layer["grad_norm"] > 0 and layer["weight_norm"] > 0
        assert sum(layer["hist"]["counts"]) == 250 * 8
        assert 0 <= layer["dead"] <= 8 and layer["saturated"] == 0
        confusion = frame["confusion"]
        assert len(confusion) == 3 and sum(map(sum, confusion)) == 250


def test_playing_sends_frames_until_paused(client):
    with client.websocket_connect("/ws") as ws:
        send_setup(ws, points=100)
        ws.send_json({"type": "play"})
        frames = [receive(ws, "frame")[0] for _ in range(3)]
        steps = [frame["step"] for frame in frames]
        assert steps == sorted(set(steps))  # every frame follows training
        epochs = [frame["epoch"] for frame in frames]
        assert epochs == sorted(epochs) and epochs[-1] > epochs[0]
        ws.send_json({"type": "pause"})
        for _ in range(100):
            frame, _ = receive(ws, "frame")
            if not frame["running"]:
                break
        assert not frame["running"]


@pytest.mark.parametrize("how", ["learning rate", "weight"])
def test_divergence_stops_training_with_a_message_and_reset_starts_again(client, how):
    with client.websocket_connect("/ws") as ws:
        send_setup(ws, activation="linear", lr=10 if how == "learning rate" else 0.03)
        if how == "weight":
            ws.send_json({"type": "set_weight", "layer": 0, "row": 0, "col": 0,
                          "value": 1e30})
            receive(ws, "frame")
        ws.send_json({"type": "play"})
        diverged, _ = receive(ws, "diverged")
        assert "diverged" in diverged["message"] and "reset" in diverged["message"]
        frame, _ = receive(ws, "frame")
        assert frame["running"] is False
        ws.send_json({"type": "step"})
        assert receive(ws, "diverged")[0]["epoch"] == diverged["epoch"]
        ws.send_json({"type": "reset"})
        frame, _ = receive(ws, "frame")
        assert frame["epoch"] == 0 and frame["train_loss"] is not None


def test_an_uploaded_csv_becomes_the_data_and_a_bad_one_changes_nothing(client):
    rows = "\n".join(f"{x / 10:.1f},{(x % 7) - 3},{x % 3}" for x in range(-50, 50))
    with client.websocket_connect("/ws") as ws:
        ws.send_json({"type": "upload", "csv": "x1,x2,label\n" + rows})
        setup, _ = receive(ws, "setup")
        assert setup["setup"]["dataset"] == "custom" and setup["setup"]["classes"] == 3
        points = setup["points"]["train"] + setup["points"]["test"]
        assert len(points) == 100 and {p[2] for p in points} == {0, 1, 2}
        frame, _ = receive(ws, "frame")
        assert frame["epoch"] == 0 and len(frame["confusion"]) == 3
        for bad, words in [("1,2\n3,4\n", "columns"), ("1,2,0\n1,x,1\n", "not a number"),
                           ("1,2,0\n9,1,1\n0,0,0\n1,1,1\n", "outside the canvas"),
                           ("1,2,0\n", "at least 4"), ("1,1,7\n" * 5, "0..4"),
                           ("1,1,0.5\n" * 4 + "1,1,3\n", "[-1, 1]"),
                           ("1,1,0\n" * 10_001, "10,000 rows"), ("x" * 1_000_001, "MB")]:
            ws.send_json({"type": "upload", "csv": bad})
            error, _ = receive(ws, "error")
            assert error["field"] == "csv" and words in error["message"], (bad[:20], error)
        ws.send_json({"type": "step"})
        frame, _ = receive(ws, "frame")
        assert frame["epoch"] == 1 and len(frame["confusion"]) == 3  # still the upload
        ws.send_json({"type": "upload", "csv": "0.5,0.5,0.25\n-1,1,-0.5\n2,2,1\n-3,-3,-1\n"})
        assert receive(ws, "setup")[0]["problem"] == "regression"


def test_a_clicked_point_switches_to_custom_keeping_the_points(client):
    with client.websocket_connect("/ws") as ws:
        setup, _ = send_setup(ws, points=100)
        ws.send_json({"type": "add_point", "x1": 1.5, "x2": -2, "label": 1})
        custom, _ = receive(ws, "setup")
        assert custom["setup"]["dataset"] == "custom"
        assert custom["points"]["train"] == setup["points"]["train"] + [[1.5, -2.0, 1]]
        assert custom["points"]["test"] == setup["points"]["test"]
        ws.send_json({"type": "add_point", "x1": 0, "x2": 0, "label": 2})
        assert receive(ws, "error")[0]["field"] == "label"


def test_clicked_points_stop_at_the_upload_s_row_limit(client):
    with client.websocket_connect("/ws") as ws:
        rows = "".join(f"{(i % 100) / 20 - 2.5},{(i // 100) / 20 - 2.5},{i % 2}\n"
                       for i in range(10_000))
        ws.send_json({"type": "upload", "csv": rows})
        receive(ws, "frame")
        ws.send_json({"type": "add_point", "x1": 0, "x2": 0, "label": 1})
        error, _ = receive(ws, "error")
        assert error["field"] == "points" and "10,000" in error["message"]


def test_save_writes_a_run_folder_that_layerlab_report_renders(client, tmp_path):
    with client.websocket_connect("/ws") as ws:
        send_setup(ws, dataset="xor", points=100, hidden="4")
        for _ in range(3):
            ws.send_json({"type": "step"})
            receive(ws, "frame")
        ws.send_json({"type": "set_weight", "layer": 0, "row": 0, "col": 0, "value": 2.5})
        edited, _ = receive(ws, "frame")
        ws.send_json({"type": "save"})
        saved, _ = receive(ws, "saved")
    folder = Path(saved["path"])
    claims = json.loads((folder / "results.json").read_text())["claims"]
    assert claims["final training loss"]["ours"] == pytest.approx(edited["train_loss"])
    assert json.loads((folder / "status.json").read_text())["wall_time"] > 0
    assert folder.parent == (tmp_path / "runs").resolve()
    for name in ("config.json", "metrics.jsonl", "results.json", "report.md", "points.csv",
                 "weights.json", "plots/loss.png", "plots/decision_map.png"):
        assert (folder / name).is_file(), name
    assert len((folder / "metrics.jsonl").read_text().splitlines()) == 4  # epochs 0..3
    (folder / "report.md").unlink()
    done = subprocess.run([sys.executable, "-m", "layerlab", "report", str(folder)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "final training loss" in done.stdout and "measured" in done.stdout
    report = (folder / "report.md").read_text()
    assert "plots/decision_map.png" in report and "epochs trained" in report
    assert "dataset=xor" in report


def test_two_sessions_train_at_once_and_requests_are_answered_meanwhile(client):
    with client.websocket_connect("/ws") as a, client.websocket_connect("/ws") as b:
        send_setup(a, points=200)
        send_setup(b, **SPIRAL3)
        a.send_json({"type": "play"})
        b.send_json({"type": "play"})
        first = {"a": receive(a, "frame")[0]["epoch"], "b": receive(b, "frame")[0]["epoch"]}
        start = time.perf_counter()
        assert client.get("/api/defaults").status_code == 200
        assert time.perf_counter() - start < 2
        for _ in range(3):  # each keeps sending frames while the other plays
            last = {"a": receive(a, "frame")[0], "b": receive(b, "frame")[0]}
        assert all(last[k]["running"] and last[k]["epoch"] > first[k] for k in "ab")
        a.send_json({"type": "pause"})
        b.send_json({"type": "pause"})
