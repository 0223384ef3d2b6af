"""Experiment `theory`: S4's MLP shapes, three SAME stride-2 convs on a 200x300 RGB image and
the batchnorm backward formulas term by term; S8's 5x5x3 conv with 8 filters and 2x2 stride-2
pooling by hand; the shape calculator against PyTorch on a table of layers."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from layerlab import references as ref
from layerlab.analysis import verdict
from layerlab.lab.registry import experiment
from layerlab.lab.sweep import cell
from layerlab.theory.batchnorm import compare
from layerlab.theory.pooling import engine_pool, format_matrix, pool_by_hand
from layerlab.theory.shapes import hwc, shape_text, summarize
from layerlab.theory.spec import STUDY_MODELS, parse_layers, parse_shape

S4, S8 = "S4 (theory)", "S8 (theory)"


def _exact(run, name, ours, reference, source, **more):
    """A claim that our exact figure equals the study's."""
    run.judge(name, "figure", verdict.exact(ours), reference, better="equal", source=source,
              **more)


def _same(run, name, ours, study, source):
    """An exact claim that our answer is the study's: mismatches (0 or 1) against 0."""
    _exact(run, name, int(ours != study), 0, source, unit="mismatches",
           note=f"ours {ours}, the study's {study}")


@dataclass
class TheoryConfig:
    """bn_shapes: (m, D) minibatches for the batchnorm formula check; seed: their data."""

    bn_shapes: tuple = ((16, 5), (4, 1), (64, 20))
    seed: int = 0


def _torch_cases(nn):
    """(name, input, layer words, torch.nn layers) checked against PyTorch. SAME with stride 2
    pads asymmetrically, which Conv2d cannot: its twin pads with ZeroPad2d first."""
    return (
        ("S4 MLP", "10", "fc:50 relu fc:3", [nn.Linear(10, 50), nn.ReLU(), nn.Linear(50, 3)]),
        ("S4 convs, SAME, stride 2", "3x200x300",
         "conv:100,k=3,s=2,p=same conv:200,k=3,s=2,p=same conv:400,k=3,s=2,p=same",
         [nn.ZeroPad2d((0, 1, 0, 1)), nn.Conv2d(3, 100, 3, 2), nn.ZeroPad2d((0, 1, 0, 1)),
          nn.Conv2d(100, 200, 3, 2), nn.ZeroPad2d((1, 1, 0, 1)), nn.Conv2d(200, 400, 3, 2)]),
        ("S8 conv", "3x32x32", "conv:8,k=5", [nn.Conv2d(3, 8, 5)]),
        ("course conv, stride 2 pad 1", "3x31x31", "conv:25,k=3,s=2,p=1",
         [nn.Conv2d(3, 25, 3, 2, 1)]),
        ("dilation 2", "4x17x19", "conv:6,k=3,p=2,d=2", [nn.Conv2d(4, 6, 3, 1, 2, dilation=2)]),
        ("SAME, stride 1, even kernel", "2x9x10", "conv:5,k=4,p=same",
         [nn.Conv2d(2, 5, 4, padding="same")]),
        ("non-square kernel and stride", "3x20x16", "conv:7,k=3x5,s=2x1,p=1x2",
         [nn.Conv2d(3, 7, (3, 5), (2, 1), (1, 2))]),
        ("no bias, batchnorm, overlapping pool", "3x16x16", "conv:8,k=3,p=1,bias=0 bn relu "
         "maxpool:3,s=2", [nn.Conv2d(3, 8, 3, 1, 1, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
                           nn.MaxPool2d(3, 2)]),
        ("average pool with padding", "4x10x10", "avgpool:3,s=2,p=1", [nn.AvgPool2d(3, 2, 1)]),
        ("group norm, layer norm", "8x6x6", "conv:8,k=3,p=1 gn:4 ln",
         [nn.Conv2d(8, 8, 3, 1, 1), nn.GroupNorm(4, 8), nn.LayerNorm([8, 6, 6])]),
        ("flatten, linear, batchnorm1d, dropout", "6x5x5", "flatten fc:30 bn dropout:0.5 "
         "fc:4,bias=0", [nn.Flatten(), nn.Linear(150, 30), nn.BatchNorm1d(30), nn.Dropout(0.5),
                         nn.Linear(30, 4, bias=False)]),
        ("LeNet-5 shape", "1x28x28", "conv:6,k=5,p=2 tanh avgpool:2 conv:16,k=5 tanh avgpool:2 "
         "flatten fc:120 tanh fc:84 tanh fc:10",
         [nn.Conv2d(1, 6, 5, padding=2), nn.Tanh(), nn.AvgPool2d(2), nn.Conv2d(6, 16, 5),
          nn.Tanh(), nn.AvgPool2d(2), nn.Flatten(), nn.Linear(400, 120), nn.Tanh(),
          nn.Linear(120, 84), nn.Tanh(), nn.Linear(84, 10)]),
    )


def _summary(shape, words):
    return summarize(parse_layers(words), parse_shape(shape))


def _torch_table():
    import torch

    rows = []
    for name, shape, words, layers in _torch_cases(torch.nn):
        ours, model = _summary(shape, words.split()), torch.nn.Sequential(*layers).eval()
        with torch.no_grad(), warnings.catch_warnings():
            # PyTorch's note that padding='same' with an even kernel copies the input
            warnings.filterwarnings("ignore", "Using padding='same'")
            out = tuple(model(torch.zeros(2, *parse_shape(shape))).shape[1:])
        rows.append({"case": name, "input": shape, "layers": words,
                     "ours": ours.total, "torch": int(sum(p.numel() for p in model.parameters())),
                     "our_shape": list(ours.output), "torch_shape": list(out)})
    return rows


@experiment("theory", study="S4, S8 (theory)", title="shapes, parameter counts, pooling by "
            "hand and the batchnorm backward formulas", estimate="10 s", config=TheoryConfig,
            quick={"bn_shapes": ((8, 3),)})
def theory(cfg, run):
    """The quoted figures of the S4 and S8 theory questions, computed and checked."""
    _mlp_shapes(run)
    _conv_counts(run)
    try:
        _torch_report(run, cell(run, "torch", _torch_table))
    except ImportError:
        run.note("pytorch", "PyTorch is not installed: the comparison table was skipped "
                 "(pip install -e '.[torch]').")
    _pooling_report(run, cell(run, "pooling", lambda: [
        {kind: {"hand": pool_by_hand(m, kind).tolist(), "engine": engine_pool(m, kind).tolist()}
         for kind in ("max", "avg")} for m in np.array(ref.S8_POOL_MATRICES, dtype=float)]))
    _batchnorm_report(run, cell(run, "batchnorm", lambda: [
        compare(m, D, cfg.seed + k) for k, (m, D) in enumerate(cfg.bn_shapes)]))


def _mlp_shapes(run):
    mlp = _summary(*STUDY_MODELS["s4-mlp"][:2])
    study = {k: shape_text(v[1:], v[0]) if isinstance(v[0], str) else shape_text(v)
             for k, v in ref.S4_MLP_SHAPES.items()}  # a leading "m" is the batch
    params = {"W_h": (0, "W"), "b_h": (0, "b"), "W_o": (2, "W"), "b_o": (2, "b")}
    ours = {"X": mlp.input, **{k: mlp.rows[i].params[p] for k, (i, p) in params.items()},
            "Y": mlp.output}
    for key in params:
        _same(run, f"S4 MLP: shape of {key}", str(ours[key]), str(ref.S4_MLP_SHAPES[key]), S4)
    batch = {k: shape_text(ours[k], "m") for k in "XY"}  # the shapes with the batch m
    _same(run, "S4 MLP: shapes of X and Y (batch m)", f"{batch['X']} -> {batch['Y']}",
          " -> ".join(study[k] for k in "XY"), S4)
    run.table("mlp", ["array", "ours", "study"],
              [[k, batch.get(k) or shape_text(v), study[k]] for k, v in ours.items()],
              title="S4: the MLP with input 10, hidden 50, output 3, batch m",
              note="Weights as (in, out), the study's convention (x @ W); PyTorch's nn.Linear "
              f"stores the transpose. {mlp.total} parameters in all.")


def _conv_counts(run):
    conv, s8 = (_summary(*STUDY_MODELS[k][:2]) for k in ("s4-conv", "s8-conv"))
    for k, (row, reference) in enumerate(zip(conv.rows, ref.S4_CONV_LAYER_PARAMS, strict=True), 1):
        _exact(run, f"S4 convs: parameters of layer {k}", row.count, reference, S4,
               unit="parameters")
    _exact(run, "S4 convs: parameters in all", conv.total, ref.S4_CONV_TOTAL_PARAMS, S4,
           unit="parameters")
    _exact(run, "S8 conv 5x5x3, 8 filters, on 32x32x3: parameters", s8.total,
           ref.S8_CONV_PARAMS, S8, unit="parameters")
    _same(run, "S8 conv: output (H×W×C)", hwc(s8.output),
          "×".join(map(str, ref.S8_CONV_OUTPUT_HWC)), S8)
    for key, summary in (("s4-conv", conv), ("s8-conv", s8)):
        run.table(key, ["layer", "output (batch m)", "H×W×C", "parameters",
                        "parameter shapes", "note"],
                  [[r.label, shape_text(r.shape, "m"), hwc(r.shape), r.count,
                    ", ".join(f"{n} {shape_text(s)}" for n, s in r.params.items()), r.note]
                   for r in summary.rows] + [["total", "", "", summary.total, "", ""]],
                  title=f"`layerlab summary --study {key}`: {STUDY_MODELS[key][2]}",
                  note="SAME is TensorFlow's: output ceil(in / stride), the odd padding pixel "
                  "at the bottom/right." if key == "s4-conv" else "")


def _torch_report(run, rows):
    agree = sum(r["ours"] == r["torch"] and r["our_shape"] == r["torch_shape"] for r in rows)
    run.table("torch", ["case", "input", "layer words", "ours", "PyTorch sum(p.numel())",
                        "our output", "PyTorch output"],
              [[r["case"], r["input"], r["layers"], r["ours"], r["torch"],
                shape_text(r["our_shape"]), shape_text(r["torch_shape"])] for r in rows],
              title="The calculator against PyTorch models of the same layers",
              note="PyTorch output: the shape of a forward pass of zeros.")
    run.judge("layer configurations whose count or output shape differs from PyTorch's", "goal",
              verdict.exact(len(rows) - agree), 0, better="lower", unit="configurations",
              key=True, source="layerlab's goal: none",
              note=f"{agree} of {len(rows)} configurations agree")
    run.judge("layer configurations checked against PyTorch", "goal", verdict.exact(len(rows)),
              ref.THEORY_TORCH_CASES, unit="configurations", source="layerlab's goal: a table "
              f"of at least {ref.THEORY_TORCH_CASES} configurations")


def _pooling_report(run, pools):
    def text(m):
        return format_matrix(np.array(m)).replace("\n", " / ")

    run.table("pooling", ["matrix", "rows", "2x2 max, stride 2", "2x2 average, stride 2"],
              [[k, text(m), text(p["max"]["hand"]), text(p["avg"]["hand"])]
               for k, (m, p) in enumerate(zip(ref.S8_POOL_MATRICES, pools, strict=True), 1)],
              title="S8: pooling of the four matrices (`layerlab pool`), rows separated by /",
              note=pooling_reading(pools))
    differ = sum(p[kind]["hand"] != p[kind]["engine"] for p in pools for kind in ("max", "avg"))
    _exact(run, "S8 pooling by hand against the engine's MaxPool and AvgPool: results that "
           "differ", differ, 0, S8, unit="pooled matrices", note=f"{2 * len(pools) - differ} "
           f"of {2 * len(pools)} (matrix, pooling) results equal, entry for entry")


def pooling_reading(pools):
    """The pooling note from the pooled matrices: 'all ones' and 'a different result each'
    only when the hand-pooled results are so."""
    ones = all(v == 1 for p in pools for row in p["max"]["hand"] for v in row)
    distinct = len({str(p["avg"]["hand"]) for p in pools}) == len(pools)
    return ((f"Max pooling maps all {len(pools)} matrices to ones: each has a 1 in every window"
             if ones else "Max pooling does not map every matrix to ones") + "; average pooling "
            + ("gives each a different result: it keeps where the block of ones sits." if distinct
               else "gives some of them the same result."))


def _batchnorm_report(run, checks):
    """The formulas' gradients against autograd and the engine's two backward passes."""
    rows = [[shape_text(c["shape"]), name, vs, err] for c in checks for name, vs, err in c["rows"]]
    run.table("batchnorm", ["x (m, D)", "gradient", "formula against", "relative error"], rows,
              title="S4: the batchnorm backward formulas, term by term (float64)",
              note="dxhat, dvar, dmu are the formulas' intermediate gradients, compared with "
              "autograd through the same graph; dx, dgamma, dbeta also with the engine's "
              "step-by-step `backward` and closed-form `backward_alt`.")
    run.judge("S4 batchnorm formulas: largest relative error against engine and autograd",
              "goal", verdict.exact(max([0.0] + [r[3] for r in rows])), ref.S4_BN_FORMULA_ERROR,
              better="lower", source=f"layerlab's goal: float64 agreement (S1.1's "
              f"{ref.S4_BN_FORMULA_ERROR:g}); the study: 'checked numerically against the "
              "implementation', no figure")
