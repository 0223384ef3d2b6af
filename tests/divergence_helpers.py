"""Helpers of the divergence tests: a quick run of the real command with settings that make it
diverge, and the check that no figure of it is NaN or infinite."""

import json
import math
import re
import subprocess
import sys


def run_quick(tmp_path, name, *settings):
    """`layerlab run NAME --quick --set ...` in a subprocess -> (results, report.md)."""
    out = tmp_path / name
    sets = [a for s in settings for a in ("--set", s)]
    done = subprocess.run([sys.executable, "-m", "layerlab", "run", name, "--quick", *sets,
                           "--out", str(out)], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    return json.loads((out / "results.json").read_text()), (out / "report.md").read_text()


def no_bad_figures(results, bad=r"\b(nan|inf)\b"):
    """No NaN or inf (or other text matching `bad`) among a table's figures, and no claim
    value that is not finite."""
    for name, table in results["tables"].items():
        for row in table["rows"]:
            for c in row:
                assert not (isinstance(c, float) and not math.isfinite(c)), (name, row)
                assert not re.search(bad, str(c), re.IGNORECASE), (name, row)
    for name, claim in results["claims"].items():
        assert claim["ours"] is None or math.isfinite(claim["ours"]), name
