"""The `layerlab` command, run as a user runs it: a subprocess."""

import json
import subprocess
import sys

import layerlab


def run(*args):
    return subprocess.run([sys.executable, "-m", "layerlab", *args], capture_output=True,
                          text=True, timeout=300)


def test_help_and_version():
    result = run("--help")
    assert result.returncode == 0 and "gradcheck" in result.stdout
    result = run("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"layerlab {layerlab.__version__}"


def test_console_script_is_installed():
    result = subprocess.run(["layerlab", "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and "layerlab" in result.stdout


def test_gradcheck_prints_the_table_and_passes():
    result = run("gradcheck", "--group", "layers", "--group", "losses")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[:3] == ["group", "what", "parameter"]
    rows = [line for line in lines[2:] if line.startswith(("layers", "losses"))]
    assert rows and all(line.endswith("pass") for line in rows)
    assert any("Linear.backward" in line and "5.22e-10" in line for line in rows)


def test_gradcheck_json_and_unknown_group():
    result = run("gradcheck", "--group", "norm", "--json")
    rows = json.loads(result.stdout)
    assert result.returncode == 0 and rows and all(r["passed"] for r in rows)
    assert {r["what"] for r in rows} >= {"BatchNorm.backward (train)", "LayerNorm.backward"}
    result = run("gradcheck", "--group", "nope")
    assert result.returncode == 2 and "groups are" in result.stderr


def test_a_reader_that_stops_reading_is_not_an_error():
    # `layerlab data list | head -1` ended in a BrokenPipeError traceback
    import subprocess
    import sys

    script = ("import os, sys\nr, w = os.pipe()\nos.close(r)\nos.dup2(w, 1)\n"
              "from layerlab.cli import main\nsys.exit(main(['list']))\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "BrokenPipeError" not in done.stderr
