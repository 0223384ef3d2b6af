"""S1.7 `layernorm`: S1.6's (b) weight-scale and (c) batch-size sweeps with layernorm (the
batch grid trains batchnorm too), and a direct check that a sample's layernorm output does not
depend on its batch."""

from __future__ import annotations

import numpy as np

from layerlab.analysis import verdict
from layerlab.lab.registry import experiment
from layerlab.references import S1_7_CLAIMS
from layerlab.scratch.norm import BatchNorm, LayerNorm
from layerlab.studies.s1_fc.common import record_data
from layerlab.studies.s1_norm import common

SOURCE = common.SOURCE["layernorm"]
FORWARD_BATCHES = (5, 10, 50)


def batch_dependence(layer, x, batch_sizes):
    """{batch size: largest change of any sample's train-mode output} when x (N, D), N divisible
    by every batch size, is normalised in batches of that size instead of all at once."""
    gamma, beta = np.ones(x.shape[1], x.dtype), np.zeros(x.shape[1], x.dtype)
    whole, _ = layer.forward(x, gamma, beta, {"mode": "train"})
    return {b: float(np.max(np.abs(np.concatenate(
        [layer.forward(x[i:i + b], gamma, beta, {"mode": "train"})[0]
         for i in range(0, len(x), b)]) - whole))) for b in batch_sizes}


def _batch_claims(cfg, run, vals, gains, lost):
    """(c) the gain over the baseline per batch size, and the batch-free forward pass."""
    sizes, nets = cfg.batch_sizes, tuple(common.LABELS)
    lo, hi, rows = min(sizes), max(sizes), []
    gone = {n: common.gone(lost, *((n, b) for b in sizes)) for n in nets}
    dead = common.behind(lost, ("none", "layernorm"))
    for key, label in common.ACCS:
        means = {n: [float(np.mean(vals(n, b, key))) for b in sizes] for n in nets}
        spread = {n: gone[n] or max(m) - min(m) for n, m in means.items()}
        change = {n: gone[n] or gone["none"] or common.growth(gains(n, key), sizes).text(3)
                  for n in ("batchnorm", "layernorm")}
        rows += [[label, common.LABELS[n], spread[n], change.get(n, "")] for n in nets]
        run.judge(f"(c) layernorm's gain over the baseline ({label}) does not depend on the "
                  "batch size", "no-effect", None if dead else common.growth(
                      gains("layernorm", key), sizes), margin=cfg.scale_tolerance,
                  diverged=dead, source=SOURCE,
                  note=f"{S1_7_CLAIMS['c']}. Change of the gain from batch {lo} to {hi}, paired "
                       f"by seed: layernorm {change['layernorm']}, batchnorm "
                       f"{change['batchnorm']}. Margin ±{cfg.scale_tolerance:g}, what (b) "
                       "already treats as negligible. Range over batch sizes: " + ", ".join(
                           common.LABELS[n] + " " + (gone[n] or f"{spread[n]:.3f}")
                           for n in ("layernorm", "batchnorm", "none")))
    run.table("c_dependence", ["accuracy", "net", "range over batch sizes",
                               f"gain over baseline, batch {hi} minus batch {lo}"], rows,
              title="(c) Batch-size dependence",
              note="The range includes what the batch size does to any net (more updates with "
                   "small batches); the change of the gain over the baseline removes it.")
    x = np.random.default_rng(cfg.seed).standard_normal((100, 64)) * 2 + 1
    dep = {n: batch_dependence(layer, x, FORWARD_BATCHES)
           for n, layer in (("layernorm", LayerNorm), ("batchnorm", BatchNorm))}
    run.table("c_forward", ["layer", *[f"batch {b}" for b in FORWARD_BATCHES]],
              [[n, *d.values()] for n, d in dep.items()],
              title="(c) Largest change of a sample's train-mode output when 100 samples are "
                    "normalised in batches of 5, 10 or 50 instead of all at once (float64)")
    run.judge("(c) a sample's layernorm output is the same in any batch (largest change)",
              "figure", verdict.exact(max(dep["layernorm"].values()), 1e-12), 0.0,
              better="equal", source=SOURCE, key=True, note="exact ±1e-12 (rounding); "
              f"batchnorm: up to {max(dep['batchnorm'].values()):.3f}")


@experiment("layernorm", study="S1.7", title="layer normalisation: weight scale and batch size",
            estimate="3 min", config=common.NormStudyConfig, quick=common.QUICK)
def layernorm(cfg, run):
    """S1.7: (b) and (c) of S1.6 with layernorm; see the module docstring."""
    record_data(run, cfg.dataset, **common.split(cfg))
    lost = common.weight_scale_sweep(cfg, run, "layernorm")
    vals, gains, lost_c = common.batch_size_sweep(
        cfg, run, ("none", "batchnorm", "layernorm"),
        "(c) What each normalisation adds over the baseline, by batch size (mean over seeds)",
        histograms=True)
    _batch_claims(cfg, run, vals, gains, lost_c)
    common.note_diverged(run, lost, lost_c)
    common.settings_note(cfg, run, f"- (c): {len(cfg.hidden_dims) + 1}-layer net, learning "
                         f"rate {cfg.batch_learning_rate:.3g}, baseline, batchnorm and layernorm "
                         "at every batch size; batchnorm's (b) is in its own report (S1.6).")
