"""Probe files: the header once, records appended, read back as the last of each step."""

import json

import pytest

from layerlab.probing import stats, store

LAYERS = [{"name": "fc1", "activation": "relu", "units": 4},
          {"name": "fc2", "activation": "linear", "units": 2}]


def record(step, layer, grad_norm, epoch=1):
    return {"step": step, "epoch": epoch, "layer": layer, "act_mean": 0.5, "act_std": 1.0,
            "dead": 0.25, "saturated": 0.0, "grad_norm": grad_norm, "weight_norm": 2.0,
            "update_ratio": float("nan"), "hist": {"act": [1, 2], "grad": [3], "weight": [4]}}


def writer(run_dir, cell="lr=0.1"):
    head = store.header(cell, "scratch", 5, LAYERS, stats.DEFAULT_BINS)
    return store.ProbeWriter(store.probe_path(run_dir, cell), head)


def test_records_read_back_with_nulls_for_non_finite_numbers(tmp_path):
    w = writer(tmp_path)
    w.write([record(5, "fc1", 1.5), record(5, "fc2", float("inf"))])
    w.write([record(10, "fc1", 0.5), record(10, "fc2", 0.25)])
    path = tmp_path / "probes" / "lr=0.1.jsonl"
    lines = path.read_text().splitlines()
    head = json.loads(lines[0])
    assert head["format"] == "layerlab-probes/1" and head["every"] == 5
    assert head["layers"] == LAYERS and set(head["bins"]) == {"act", "grad", "weight"}
    assert json.loads(lines[2])["grad_norm"] is None  # inf written as null
    assert json.loads(lines[1])["update_ratio"] is None  # NaN too
    found = store.read_probes(tmp_path)
    assert list(found) == ["lr=0.1"]
    series = store.probe_series(found["lr=0.1"]["records"], "grad_norm")
    assert series == {"fc1": ([5, 10], [1.5, 0.5]), "fc2": ([5, 10], [None, 0.25])}
    hists = store.probe_histograms(found["lr=0.1"]["records"], "act")
    assert hists["fc1"] == ([5, 10], [[1, 2], [1, 2]])


def test_a_resumed_cell_appends_without_a_second_header_and_the_last_record_wins(tmp_path):
    writer(tmp_path).write([record(5, "fc1", 1.0), record(5, "fc2", 1.0)])
    path = tmp_path / "probes" / "lr=0.1.jsonl"
    with open(path, "a") as f:
        f.write('{"step": 10, "epoch": 1, "lay')  # a line cut short by a kill
    writer(tmp_path).write([record(5, "fc1", 7.0)])  # the steps after the checkpoint again
    assert sum('"format"' in line for line in path.read_text().splitlines()) == 1
    records = store.read_probes(tmp_path)["lr=0.1"]["records"]
    assert [(r["step"], r["layer"], r["grad_norm"]) for r in records] == \
        [(5, "fc1", 7.0), (5, "fc2", 1.0)]


def test_a_run_without_probes_reads_as_empty_and_a_foreign_file_is_named(tmp_path):
    assert store.read_probes(tmp_path) == {}
    (tmp_path / "probes").mkdir()
    (tmp_path / "probes" / "x.jsonl").write_text('{"step": 1}\n')
    with pytest.raises(ValueError, match="x.jsonl is not a probe file"):
        store.read_probes(tmp_path)
    with pytest.raises(ValueError, match="unknown probe statistic"):
        store.probe_series([], "grad")
