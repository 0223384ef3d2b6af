"""`layerlab list`: a header, the time of the last published run or the marked estimate;
`layerlab list NAME`: one experiment's settings."""

import json

from cli_helpers import layerlab


def test_list_has_a_header_and_takes_times_from_published_runs(tmp_path):
    published = tmp_path / "results" / "quickstart"
    published.mkdir(parents=True)
    (published / "status.json").write_text(json.dumps({"state": "finished",
                                                       "wall_time": 183.0}))
    (published / "config.json").write_text(json.dumps({"quick": False,
                                                       "created": "2026-11-24 07:29:39"}))
    done = layerlab("list", "--results", tmp_path / "results")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split()[:4] == ["experiment", "study", "full", "run"]
    rows = {line.split()[0]: line for line in lines[1:] if line.strip()}
    assert rows["quickstart"].split()[2:4] == ["3", "min"]  # 183 s, not the "~10 s" estimate
    assert "(estimate)" not in rows["quickstart"]
    assert "~" in rows["layer-checks"] and "(estimate)" in rows["layer-checks"]


def test_a_quick_or_unfinished_published_run_gives_no_time(tmp_path):
    published = tmp_path / "quickstart"
    published.mkdir()
    (published / "status.json").write_text(json.dumps({"state": "finished", "wall_time": 5}))
    (published / "config.json").write_text(json.dumps({"quick": True}))
    row = [line for line in layerlab("list", "--results", tmp_path).stdout.splitlines()
           if line.startswith("quickstart ")][0]
    assert "(estimate)" in row


def test_list_name_shows_every_setting_with_defaults_and_rules(tmp_path):
    done = layerlab("list", "quickstart", "--results", tmp_path)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.startswith("quickstart (-): a small net on the built-in data")
    assert "(estimate; no full run published" in out
    table = out[out.index("setting "):].splitlines()
    assert table[0].split() == ["setting", "default", "--quick", "rule"]
    rows = {line.split()[0]: line for line in table[1:]}
    assert set(rows) == {"dataset", "val", "hidden_dims", "normalization", "learning_rates",
                         "epochs", "batch_size", "weight_scale", "seed", "probes"}
    assert rows["epochs"].split()[1:3] == ["10", "2"]
    assert "a number of epochs must be an int >= 1" in rows["epochs"]
    assert rows["learning_rates"].split()[1:5] == ["[0.0003,", "0.001,", "0.003]", "[0.001]"]
    assert "a learning rate must be a number > 0" in rows["learning_rates"]
    assert rows["probes"].split()[1:3] == ["off", "same"] and "every:K" in rows["probes"]
