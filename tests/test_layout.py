"""The layout goals of the source tree (scripts/layout.py): short functions, small study
modules, a short guide example, and no study code imported by the report layer or the
framework."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "layout.py"


def load():
    spec = importlib.util.spec_from_file_location("layout", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_structural_goals_hold_and_the_script_says_so():
    out = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True)
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    assert out.returncode == 0, out.stdout
    assert figures["met"]["function_lines"] and figures["met"]["study_module_lines"]
    assert figures["met"]["example_lines"] and figures["study_imports"] == 0


def test_the_measures_see_a_long_function_and_a_study_import(tmp_path):
    layout = load()
    body = "\n".join(f"        x{i} = {i}" for i in range(90))
    source = tmp_path / "pkg" / "report" / "m.py"
    source.parent.mkdir(parents=True)
    source.write_text(f"import layerlab.studies.s9\nclass A:\n    def long(self):\n{body}\n")
    layout.SRC = tmp_path / "pkg"
    [(name, length)] = layout.functions(source)
    assert name.endswith("m.py:A.long") and length == 91
    assert layout.study_imports("report") == ["pkg/report/m.py imports layerlab.studies.s9"]
