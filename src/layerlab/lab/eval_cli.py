"""`layerlab eval RUN_DIR`: reload a run's saved weights into fresh models and re-evaluate.

Every PyTorch cell of a run saves weights/<cell>.pt (`layerlab.trainers.torch_cell.train_cell`)
with its data description and the number of correct images it measured on each split at the
end of training. This command builds a fresh model from each file
(`layerlab.pytorch.checkpoint.load`: every model a study saves is in `layerlab.pytorch.MODELS`,
so no study is imported), rebuilds the same data from its description (`load_data`), counts
correct images again and compares: the counts must be equal, to the last image. Exit status 0
when every file matches, 1 otherwise. A corrupt, tampered or foreign file (the checkpoint's
checksum, `torch.load(weights_only=True)`) is one line on stderr naming it, and exit 1; the
other files are still checked.
"""

from __future__ import annotations

import sys
from pathlib import Path


def evaluate_file(path) -> list[dict]:
    """[{split, saved: [correct, n], again: [correct, n], match}] for one weights file."""
    from layerlab.pytorch import checkpoint
    from layerlab.trainers.torch_cell import _accuracy, load_data

    payload = checkpoint.read(path)
    saved = (payload["extra"] or {}).get("correct")
    spec = (payload["config"] or {}).get("data")
    if not saved or not spec:
        raise ValueError(f"{path} has no saved accuracies or data description: it was not "
                         "written by a layerlab experiment cell (torch_cell.train_cell)")
    model = checkpoint.load(path)
    data = load_data(spec)
    rows = []
    for split, (correct, n) in saved.items():
        again = _accuracy(model, data, split)
        rows.append({"split": split, "saved": [correct, n], "again": [again["correct"],
                                                                      again["n"]],
                     "match": (again["correct"], again["n"]) == (correct, n)})
    return rows


def _eval(args) -> int:
    from layerlab.lab.cli import set_threads

    set_threads(args.threads)
    run_dir = Path(args.run_dir)
    files = sorted((run_dir / "weights").glob("*.pt"))
    if args.cell:
        files = [f for f in files if args.cell in f.stem]
    if not files:
        print(f"{run_dir} holds no saved weights (weights/*.pt"
              + (f" matching {args.cell!r}" if args.cell else "") + "): run a PyTorch "
              "experiment into it first (`layerlab run lenet-fashion`)", file=sys.stderr)
        return 2
    from layerlab.pytorch.checkpoint import CheckpointError
    from layerlab.timing import print_table

    rows, ok = [], True
    for f in files:
        try:
            found = evaluate_file(f)
        except CheckpointError as err:
            print(f"layerlab eval: {err}: it cannot be re-checked; run the experiment again "
                  "to write it anew", file=sys.stderr)
            ok = False
            continue
        for r in found:
            ok &= r["match"]
            rows.append([f.stem, r["split"], f"{r['saved'][0]}/{r['saved'][1]}",
                         f"{r['again'][0]}/{r['again'][1]}",
                         f"{r['again'][0] / r['again'][1]:.4f}",
                         "yes" if r["match"] else "NO"])
    if not rows:
        return 1
    print_table(["weights", "split", "saved correct", "reloaded correct", "accuracy",
                 "same"], rows)
    print(f"{len(files)} weight file(s): " + ("every split matches to the last image" if ok
                                             else "MISMATCH: see the rows marked NO and the "
                                             "errors above"))
    return 0 if ok else 1


def add_parser(subparsers):
    p = subparsers.add_parser("eval", help="reload a run's saved weights into fresh models and "
                              "re-evaluate them")
    p.add_argument("run_dir", help="a run folder with weights/*.pt (a PyTorch experiment)")
    p.add_argument("--cell", default="", help="only weights whose name contains this text")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    p.set_defaults(func=_eval)
