"""`layerlab audit [RUN_DIR ...]`: judge every stored verdict again and say where it is weak.

For each run folder (default: every folder in docs/results/) it reads the claims of
results.json and prints:

- each **contradiction**: a claim judged against noise (it stores its kind and estimate) whose
  stored verdict differs from the one its own interval gives now (exit status 1);
- each goal or comparison claim that rests on **one seed** (no interval over seeds);
- each claim with **no interval** (judged by the older rule: a bare comparison of two numbers
  within a tolerance), counted per run;
- the test-set **ledger's** count of looks at the experiment's test split.
"""

from __future__ import annotations

import sys
from pathlib import Path

from layerlab import ledger
from layerlab.analysis.fmt import count
from layerlab.analysis.verdict import Estimate, judge
from layerlab.runfiles import read_run

RESULTS_ROOT = Path("docs/results")


def audit_claim(claim: dict) -> dict:
    """{'state': 'ok' | 'contradiction' | 'one seed' | 'no interval' | 'measured',
    'verdict': what the stored values give now, 'reason'} of one stored claim."""
    if "kind" not in claim:
        if claim.get("reference") is None:
            return {"state": "measured", "verdict": claim.get("verdict"), "reason": ""}
        return {"state": "no interval", "verdict": claim.get("verdict"),
                "reason": "a bare comparison within a tolerance"}
    est = Estimate(**claim["estimate"]) if claim.get("estimate") else None
    now = judge(claim["kind"], est, claim.get("reference"), better=claim.get("better", "higher"),
                figure_n=claim.get("figure_n"), margin=claim.get("margin"),
                diverged=claim.get("diverged", False))
    if now["verdict"] != claim.get("verdict"):
        return {"state": "contradiction", "verdict": now["verdict"],
                "reason": f"stored '{claim.get('verdict')}', its interval gives "
                          f"'{now['verdict']}': {now['reason']}"}
    if claim["kind"] == "measured":
        return {"state": "measured", "verdict": now["verdict"], "reason": ""}
    if (claim["kind"] in ("goal", "comparison", "no-effect") and est is not None
            and est.how in ("seeds", "paired", "seeds+images") and est.n < 2):
        return {"state": "one seed", "verdict": now["verdict"], "reason": "one seed"}
    return {"state": "ok", "verdict": now["verdict"], "reason": now["reason"]}


def audit_run(run_dir) -> dict:
    """Every claim of one run folder audited: {'experiment', 'claims': {name: audit_claim},
    'looks': the ledger's count for the experiment}."""
    doc = read_run(run_dir)
    experiment = doc["meta"]["experiment"]
    claims = {name: audit_claim(c) for name, c in doc["results"]["claims"].items()}
    return {"experiment": experiment, "path": str(run_dir), "claims": claims,
            "looks": ledger.look_count(experiment)}


def run_dirs(paths) -> list[Path]:
    """The folders to audit: the given ones, or every published run in docs/results/."""
    if paths:
        return [Path(p) for p in paths]
    return sorted(p for p in RESULTS_ROOT.iterdir() if (p / "config.json").is_file()) \
        if RESULTS_ROOT.is_dir() else []


def main(paths, out=None) -> int:
    """Print the audit of `paths` (see the module docstring); 1 on a contradiction, else 0."""
    out = out or sys.stdout
    folders = run_dirs(paths)
    if not folders:
        print("layerlab audit: no run folders (give RUN_DIR, or run it in a checkout with "
              "docs/results/)", file=sys.stderr)
        return 2
    contradictions = 0
    totals: dict[str, int] = {}
    for folder in folders:
        try:
            report = audit_run(folder)
        except FileNotFoundError as err:
            print(f"layerlab audit: {err}", file=sys.stderr)
            return 2
        states = [a["state"] for a in report["claims"].values()]
        for s in states:
            totals[s] = totals.get(s, 0) + 1
        counts = ", ".join(f"{states.count(s)} {s}" for s in dict.fromkeys(states)) or "none"
        looks = report["looks"]
        print(f"{report['experiment']}: {count(len(states), 'claim')} ({counts}); test split "
              f"scored {count(looks['looks'], 'time')} in the ledger "
              f"({count(looks['recipes'], 'recipe')})", file=out)
        for name, a in report["claims"].items():
            if a["state"] in ("contradiction", "one seed"):
                print(f"  {a['state'].upper()}: {name}: {a['reason']}", file=out)
        contradictions += states.count("contradiction")
    summary = ", ".join(f"{n} {s}" for s, n in sorted(totals.items()))
    print(f"all: {summary}", file=out)
    return 1 if contradictions else 0


def add_parser(subparsers):
    p = subparsers.add_parser(
        "audit", help="judge every stored verdict again from its interval; list "
                      "contradictions, one-seed claims and claims with no interval",
        description=__doc__.split("\n\n")[0])
    p.add_argument("run_dirs", nargs="*", metavar="RUN_DIR",
                   help="run folders (default: every folder in docs/results/)")
    p.set_defaults(func=lambda args: main(args.run_dirs))
