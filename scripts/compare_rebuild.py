"""Rebuild runs from their stored cells and compare the figures with the runs' own.

    python scripts/compare_rebuild.py docs/results/NAME ...     # or run folders

Each folder is copied to a temporary place and judged again from its cells.json
(`layerlab.lab.runner.rebuild`: the study's code runs with every grid answered from the stored
cells, nothing trains). The rebuilt results.json is compared with the folder's: every claim's
value, interval and verdict, every table's numbers and every plot's data. Wording (names of
claims, titles, notes, reasons) may differ; figures may not. Claims are paired by name, else by
their order. Prints one line per folder and, last, one JSON line; exits 1 when a figure
differs or a folder cannot be rebuilt.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import shutil
import sys
import tempfile
from pathlib import Path


def numbers(value, path=""):
    """{path: number} of every number (and bool/None) inside `value`, strings left out."""
    if isinstance(value, dict):
        return {k: v for key, item in value.items() for k, v in numbers(item, f"{path}/{key}")
                .items()}
    if isinstance(value, list):
        return {k: v for i, item in enumerate(value) for k, v in numbers(item, f"{path}[{i}]")
                .items()}
    if isinstance(value, bool) or value is None or isinstance(value, int | float):
        return {path: value}
    return {}


def same(a, b):
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-12)
    return a == b


def claim_figures(claims):
    """[(name, figures)] in order: value, interval and verdict of each claim."""
    out = []
    for name, claim in claims.items():
        est = claim.get("estimate") or {}
        out.append((name, {"ours": claim.get("ours"), "reference": claim.get("reference"),
                           "verdict": claim.get("verdict"), "low": est.get("low"),
                           "high": est.get("high"), "n": est.get("n")}))
    return out


def differences(before, after):
    """Lines naming every figure that differs between two results dicts."""
    found = []
    old, new = claim_figures(before["claims"]), claim_figures(after["claims"])
    if len(old) != len(new):
        found.append(f"claims: {len(old)} before, {len(new)} after")
    names = dict(new)
    for i, (name, figs) in enumerate(old):
        other = names.get(name, new[i][1] if i < len(new) else None)
        if other is None:
            found.append(f"claim {name!r}: missing")
            continue
        for key, value in figs.items():
            if not same(value, other[key]):
                found.append(f"claim {name!r} {key}: {value!r} -> {other[key]!r}")
    for section in ("tables", "plots"):
        old_n, new_n = numbers(before[section]), numbers(after[section])
        # titles and notes may change, and a plot may be redrawn in another kind: compare the
        # numbers of the sections both have, by their order
        for name in before[section]:
            if name not in after[section]:
                found.append(f"{section[:-1]} {name!r}: not in the rebuild")
                continue
            a = [v for k, v in sorted(old_n.items()) if k.startswith(f"/{name}/")]
            b = [v for k, v in sorted(new_n.items()) if k.startswith(f"/{name}/")]
            if len(a) != len(b) or not all(same(x, y) for x, y in zip(a, b, strict=False)):
                found.append(f"{section[:-1]} {name!r}: numbers differ")
    return found


def compare(folder: Path) -> list[str]:
    """Rebuild a copy of `folder`; the differences from its stored results."""
    from layerlab.lab.runner import rebuild

    before = json.loads((folder / "results.json").read_text())
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / folder.name
        shutil.copytree(folder, copy, ignore=shutil.ignore_patterns("run.lock", "*.lock"))
        with contextlib.redirect_stdout(io.StringIO()):
            rebuild(copy, stream=io.StringIO())
        after = json.loads((copy / "results.json").read_text())
    return differences(before, after)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", nargs="+", type=Path)
    args = parser.parse_args(argv)
    summary = {}
    for folder in args.folders:
        if not (folder / "cells.json").exists():
            print(f"{folder}: no cells.json (a run published before cells were kept)")
            summary[str(folder)] = "no cells"
            continue
        try:
            found = compare(folder)
        except Exception as err:  # a folder that cannot be rebuilt is a finding, not a crash
            print(f"{folder}: rebuild failed: {type(err).__name__}: {err}")
            summary[str(folder)] = "failed"
            continue
        print(f"{folder}: " + ("the same figures" if not found else
                               f"{len(found)} differences\n  " + "\n  ".join(found[:20])))
        summary[str(folder)] = "same" if not found else len(found)
    print(json.dumps({"rebuilds": summary}))
    return 0 if all(v in ("same", "no cells") for v in summary.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
