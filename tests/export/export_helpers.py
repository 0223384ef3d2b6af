"""Helpers of the export and watch tests: the real `layerlab` command in a subprocess, a probe
file written exactly as the probe-file contract (docs/probes.md) describes, and TensorBoard's
own reader."""

import json
import os
import subprocess
import sys

import numpy as np

# The real CLI in a fresh interpreter in which the named top-level packages cannot be imported,
# as when they are not installed: `python -c BLOCKED PACKAGES ARGS...` (PACKAGES comma-separated).
BLOCKED = """
import sys

blocked = [p for p in sys.argv[1].split(",") if p]

class Blocked:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in blocked:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)

sys.meta_path.insert(0, Blocked())
from layerlab.cli import main
sys.exit(main(sys.argv[2:]))
"""


def layerlab_env():
    """The environment of a `layerlab` subprocess: one BLAS thread, no ledger writes."""
    return {**os.environ, "LAYERLAB_LEDGER": "off", "OPENBLAS_NUM_THREADS": "1",
            "OMP_NUM_THREADS": "1"}


def layerlab(*args, without=(), timeout=300):
    """Run `layerlab ARGS` (with the packages in `without` made impossible to import)."""
    head = [sys.executable, "-c", BLOCKED, ",".join(without)]
    return subprocess.run([*head, *map(str, args)], capture_output=True, text=True,
                          env=layerlab_env(), timeout=timeout)


def one_line_error(done):
    """The stderr of a refused command: one line, no traceback, exit status not 0."""
    assert done.returncode != 0, done.stdout
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


EDGES = {"act": np.linspace(-3, 3, 13).tolist(), "grad": np.linspace(-0.1, 0.1, 9).tolist(),
         "weight": np.linspace(-1, 1, 11).tolist()}
STATS = ("act_mean", "act_std", "dead", "saturated", "grad_norm", "weight_norm",
         "update_ratio")


def write_contract_probes(run_dir, cell, file_name, steps, layers=("fc1", "fc2"), seed=0):
    """A probe file of `cell` exactly as the contract describes: the header, then one record
    per step and layer with every statistic (update_ratio null at the first step, a
    non-finite grad_norm written as null once) and counts that sum to the number of values.
    Returns the records."""
    rng = np.random.default_rng(seed)
    header = {"format": "layerlab-probes/1", "cell": cell, "engine": "scratch", "every": 5,
              "layers": [{"name": n, "activation": "relu", "units": 20} for n in layers],
              "bins": EDGES}
    records = []
    for step in steps:
        for layer in layers:
            record = {"step": step, "epoch": 1 + step // 30, "layer": layer}
            record.update({s: float(rng.uniform(0, 2)) for s in STATS})
            if step == steps[0]:
                record["update_ratio"] = None
            hist = {}
            for kind, edges in EDGES.items():
                values = rng.normal(0, (edges[-1] - edges[0]) / 4, 200)
                counts, _ = np.histogram(np.clip(values, edges[0], edges[-1]), bins=edges)
                hist[kind] = counts.tolist()
            record["hist"] = hist
            records.append(record)
    records[3]["grad_norm"] = None  # a non-finite value is written as null
    folder = run_dir / "probes"
    folder.mkdir(exist_ok=True)
    lines = [json.dumps(header)] + [json.dumps(r) for r in records]
    (folder / f"{file_name}.jsonl").write_text("\n".join(lines) + "\n")
    return records


def read_back(folder):
    """TensorBoard's own EventAccumulator over one exported cell, keeping every event."""
    from tensorboard.backend.event_processing import event_accumulator as ea

    acc = ea.EventAccumulator(str(folder), size_guidance={k: 0 for k in
                                                          ea.DEFAULT_SIZE_GUIDANCE})
    acc.Reload()
    return acc


def expected_metric_scalars(metrics_path):
    """{cell: {tag: [(step, value)]}} read straight from metrics.jsonl: the last line of a
    (cell, kind, epoch, iteration) wins; every numeric field but iteration/step/epoch is a
    scalar KIND/FIELD at the line's iteration, else step, else epoch."""
    rows = {}
    for line in metrics_path.read_text().splitlines():
        row = json.loads(line)
        rows[row["cell"], row["kind"], row.get("epoch"), row.get("iteration")] = row
    out = {}
    for row in rows.values():
        step = next(row[k] for k in ("iteration", "step", "epoch") if k in row)
        for field, value in row.items():
            if field in ("cell", "kind", "iteration", "step", "epoch"):
                continue
            if isinstance(value, int | float) and not isinstance(value, bool):
                out.setdefault(row["cell"], {}).setdefault(f"{row['kind']}/{field}", []) \
                    .append((step, value))
    return out


def as_float32(pairs):
    """(step, value) pairs with the value as TensorBoard stores a scalar (float32)."""
    return [(s, float(np.float32(v))) for s, v in pairs]



def expected_probes(run_dir):
    """{cell: (header, records)} read straight from the probe files (probes/*.jsonl): the
    header line, then the records, the last of a (step, layer) kept."""
    out = {}
    for path in sorted((run_dir / "probes").glob("*.jsonl")):
        lines = [json.loads(line) for line in path.read_text().splitlines()]
        kept = {(r["step"], r["layer"]): r for r in lines[1:]}
        out[lines[0]["cell"]] = (lines[0], list(kept.values()))
    return out


HISTOGRAMS = {"act": "activations", "grad": "gradients", "weight": "weights"}


def check_export(run_dir, out):
    """Every cell's exported events, read back by TensorBoard's reader, equal the run's files:
    the scalars of metrics.jsonl and of the probe files (values and steps; nulls left out),
    and the probe histograms' counts and bucket limits. Returns the number of histograms."""
    from layerlab.lab.rundir import safe_name

    scalars = expected_metric_scalars(run_dir / "metrics.jsonl")
    probes = expected_probes(run_dir)
    n_hist = 0
    assert sorted(p.name for p in out.iterdir()) == \
        sorted({safe_name(c) for c in [*scalars, *probes]})
    for cell in {*scalars, *probes}:
        acc = read_back(out / safe_name(cell))
        expected = dict(scalars.get(cell, {}))
        header, records = probes.get(cell, ({}, []))
        for r in records:
            for stat, value in r.items():
                if stat not in ("step", "epoch", "layer", "hist") and value is not None:
                    expected.setdefault(f"probes/{r['layer']}/{stat}", []).append(
                        (r["step"], value))
        assert sorted(acc.Tags()["scalars"]) == sorted(expected), cell
        for tag, pairs in expected.items():
            got = [(e.step, e.value) for e in acc.Scalars(tag)]
            assert got == as_float32(sorted(pairs, key=lambda p: p[0])), (cell, tag)
        hist_tags = {f"probes/{r['layer']}/{HISTOGRAMS[k]}" for r in records for k in r["hist"]}
        assert sorted(acc.Tags()["histograms"]) == sorted(hist_tags), cell
        for tag in hist_tags:
            layer, kind = tag.split("/")[1], {v: k for k, v in HISTOGRAMS.items()}[
                tag.split("/")[2]]
            mine = sorted((r for r in records if r["layer"] == layer), key=lambda r: r["step"])
            events = acc.Histograms(tag)
            assert [e.step for e in events] == [r["step"] for r in mine], tag
            edges = header["bins"][kind]
            for event, record in zip(events, mine, strict=True):
                h = event.histogram_value
                assert h.bucket == record["hist"][kind], tag  # the counts as they are
                assert h.bucket_limit == edges[1:], tag       # right edges of the fixed bins
                assert (h.min, h.max) == (edges[0], edges[-1])
                assert h.num == sum(record["hist"][kind])
                n_hist += 1
    return n_hist
