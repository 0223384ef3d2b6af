"""`layerlab summary` (shapes and parameter counts) and `layerlab pool` (pooling by hand)."""

from __future__ import annotations

import ast
import json
import sys

import numpy as np

from layerlab.theory.shapes import hwc, shape_text, summarize
from layerlab.theory.spec import EXAMPLES, STUDY_MODELS, parse_layers, parse_shape

SCRATCH_MODELS = ("FullyConnectedNet", "TwoLayerNet", "ThreeLayerConvNet", "DeepConvNet",
                  "LeNet5")


def add_parser(subparsers) -> None:
    """Register `layerlab summary` and `layerlab pool`."""
    p = subparsers.add_parser(
        "summary", help="output shape and parameter count of every layer of a model",
        description="Shapes and parameters per layer, by formula, for a model written as "
        f"layer words ({EXAMPLES}; see docs/theory.md), a scratch or PyTorch model, or a "
        "model of the studies' theory questions.",
        epilog="examples: layerlab summary --input 3x32x32 conv:8,k=5 | "
        "layerlab summary --study s4-conv | layerlab summary --model torch:LeNet5 "
        "--arg batchnorm=True")
    p.add_argument("layers", nargs="*", help="layer words, in order")
    p.add_argument("--input", help="one sample's shape: D (e.g. 10) or CxHxW (e.g. 3x32x32)")
    p.add_argument("--study", choices=[*STUDY_MODELS, "all"],
                   help="a model of the S4/S8 theory questions")
    p.add_argument("--model", help="scratch:NAME (" + ", ".join(SCRATCH_MODELS) + ") or "
                   "torch:NAME (LeNet5, BudgetMLP, SmallCNN)")
    p.add_argument("--arg", action="append", default=[], metavar="KEY=VALUE",
                   help="a constructor argument of --model, as a Python literal "
                   "(repeatable), e.g. --arg hidden_dims=[100,100]")
    p.add_argument("--batch", help="symbol of the batch axis (default N; m with --study)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=cmd_summary)

    p = subparsers.add_parser(
        "pool", help="max and average pooling of small matrices, by hand",
        description="2x2 stride-2 (or --size/--stride) max and average pooling of each "
        "matrix, computed window by window and checked against the engine's MaxPool and "
        "AvgPool. Without matrices: the four 4x4 matrices of S8.")
    p.add_argument("matrices", nargs="*", metavar="MATRIX",
                   help="rows separated by ';', e.g. '1 1 0 0; 1 1 0 0; 0 0 1 1; 0 0 1 1'")
    p.add_argument("--size", type=int, default=2, help="window size (default 2)")
    p.add_argument("--stride", type=int, default=2, help="stride (default 2)")
    p.set_defaults(func=cmd_pool)


def _fail(message):
    print(f"layerlab: {message}", file=sys.stderr)
    return 2


def _model_kwargs(pairs):
    kwargs = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"--arg {pair!r}: write KEY=VALUE, e.g. --arg batchnorm=True")
        try:
            kwargs[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            kwargs[key] = value  # a bare word, e.g. activation=relu
    return kwargs


def build_model(name, kwargs):
    """A scratch or PyTorch model from 'scratch:NAME' / 'torch:NAME' and keyword arguments."""
    source, _, cls_name = name.partition(":")
    if source == "scratch" and cls_name in SCRATCH_MODELS:
        from layerlab.scratch import conv_models, models

        module = models if hasattr(models, cls_name) else conv_models
        return getattr(module, cls_name)(**kwargs)
    if source == "torch":
        from layerlab.pytorch.models import MODELS

        if cls_name in MODELS:
            return MODELS[cls_name](**kwargs)
    raise ValueError(f"--model {name!r}: use scratch:NAME ({', '.join(SCRATCH_MODELS)}) or "
                     "torch:NAME (LeNet5, BudgetMLP, SmallCNN)")


def _summaries(args):
    """[(title, Summary, extra lines)] for what the arguments ask."""
    from layerlab.theory.convert import from_scratch, from_torch

    chosen = sum(bool(x) for x in (args.layers, args.study, args.model))
    if chosen != 1:
        raise ValueError("give exactly one of: layer words with --input, --study NAME, or "
                         "--model scratch:NAME|torch:NAME")
    if args.study:
        names = list(STUDY_MODELS) if args.study == "all" else [args.study]
        return [(STUDY_MODELS[n][2], summarize(parse_layers(STUDY_MODELS[n][1]),
                                               parse_shape(STUDY_MODELS[n][0])), [])
                for n in names]
    if args.model:
        kwargs = _model_kwargs(args.arg)
        try:
            model = build_model(args.model, kwargs)
        except TypeError as err:
            raise ValueError(f"--model {args.model}: {err}; give constructor arguments as "
                             "--arg KEY=VALUE") from None
        if args.model.startswith("torch:"):
            shape, specs = from_torch(model, parse_shape(args.input) if args.input else None)
            summary = summarize(specs, shape)
            theirs = sum(p.numel() for p in model.parameters())
            agree = "agrees" if theirs == summary.total else "DIFFERS"
            return [(args.model, summary,
                     [f"PyTorch's sum(p.numel()): {theirs:,} ({agree})"])]
        shape, specs = from_scratch(model)
        summary = summarize(specs, shape)
        theirs = sum(int(v.size) for v in model.params.values())
        agree = "agrees" if theirs == summary.total else "DIFFERS"
        return [(args.model, summary, [f"the model's own parameter arrays: {theirs:,} "
                                       f"({agree})"])]
    if not args.input:
        raise ValueError("layer words need --input: D for a vector (e.g. --input 10) or "
                         "CxHxW for an image (e.g. --input 3x32x32)")
    return [("", summarize(parse_layers(args.layers), parse_shape(args.input)), [])]


def cmd_summary(args) -> int:
    """Print the per-layer table (or JSON) of the requested model(s)."""
    try:
        summaries = _summaries(args)
    except ValueError as err:
        return _fail(str(err))
    batch = args.batch or ("m" if args.study else "N")
    if args.json:
        print(json.dumps([{"title": title, "input": list(s.input), "total": s.total,
                           "output": list(s.output), "output_hwc": hwc(s.output),
                           "layers": [{"layer": r.label, "output": list(r.shape),
                                       "params": r.count,
                                       "shapes": {k: list(v) for k, v in r.params.items()},
                                       "note": r.note} for r in s.rows]}
                          for title, s, _ in summaries], indent=1))
        return 0
    for k, (title, summary, extra) in enumerate(summaries):
        if k:
            print()
        if title:
            print(title)
        print(summary.format(batch))
        out = summary.output
        print(f"output {shape_text(out, batch)}" + (f" = {hwc(out)} (H×W×C)" if hwc(out) else "")
              + f"; {summary.total:,} parameters")
        for line in extra:
            print(line)
    return 0


def cmd_pool(args) -> int:
    """Print each matrix beside its max and average pooling; check them against the engine."""
    from layerlab.references import S8_POOL_MATRICES
    from layerlab.theory.pooling import (
        engine_pool,
        format_matrix,
        parse_matrix,
        pool_by_hand,
        side_by_side,
    )

    try:
        matrices = [parse_matrix(m) for m in args.matrices] if args.matrices else \
            [np.array(m, dtype=float) for m in S8_POOL_MATRICES]
        results = [(m, pool_by_hand(m, "max", args.size, args.stride),
                    pool_by_hand(m, "avg", args.size, args.stride)) for m in matrices]
    except ValueError as err:
        return _fail(str(err))
    source = "your matrices" if args.matrices else "the four 4x4 matrices of S8"
    print(f"{args.size}x{args.size} pooling, stride {args.stride}, of {source}\n")
    agree = True
    for k, (m, mx, avg) in enumerate(results, start=1):
        print(side_by_side([f"matrix {k}\n" + format_matrix(m), "max\n" + format_matrix(mx),
                            "average\n" + format_matrix(avg)]))
        print()
        agree &= bool(np.array_equal(mx, engine_pool(m, "max", args.size, args.stride))
                      and np.allclose(avg, engine_pool(m, "avg", args.size, args.stride),
                                      rtol=0, atol=1e-12))
    print("the engine's MaxPool and AvgPool give the same: " + ("yes" if agree else "NO"))
    return 0 if agree else 1
