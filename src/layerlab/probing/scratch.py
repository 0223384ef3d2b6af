"""Probing the scratch engine's models while they train.

    probe = ScratchProbe(model, every=10, writer=...)      # or for_run(run, cell, model)
    solver = Solver(model, data, ..., probe=probe)

The Solver asks `probe.begin(model, step)` before each step; on a probed step (every K-th) the
probe copies the weights and lets the model's sandwiches hand it their activation outputs, and
after the update `probe.after_step(model, grads, step, epoch)` computes the statistics, puts
the model back as it was and writes one record per layer. Any training loop can call the two
the same way. On other steps `begin` only checks the step number.

Layers: FullyConnectedNet (and TwoLayerNet) has fc1 ... fcL, ConvNetBase models (the conv
nets, LeNet5) conv{i} or fc{i} by their first stage; layer i's weight is params['W{i}'].
A layer's activations are its activation stage's output (before dropout or pooling); the last
layer's are the class scores (activation 'linear').
"""

from __future__ import annotations

from layerlab.probing import setting, stats, store
from layerlab.scratch.layers import ACTIVATIONS, Linear
from layerlab.scratch.sandwich import Sandwich, Stage

ACTIVATION_NAMES = {layer: name for name, layer in ACTIVATIONS.items()}


def _recording(layer, sink):
    """A layer class that computes as `layer` does and hands each forward output to sink."""
    class Recording:
        backward = staticmethod(layer.backward)

        @staticmethod
        def forward(x, *args):
            out, cache = layer.forward(x, *args)
            sink(out)
            return out, cache

    return Recording


def _watched_stage(sandwich) -> int:
    """Index of the stage whose output is the block's activation: the activation stage, else
    (a last Linear) the last stage."""
    for i, stage in enumerate(sandwich.stages):
        if stage.layer in ACTIVATION_NAMES:
            return i
    return len(sandwich.stages) - 1


def _recording_sandwich(sandwich, sink) -> Sandwich:
    """The same stages, the watched one handing its output to sink."""
    i = _watched_stage(sandwich)
    stages = list(sandwich.stages)
    stages[i] = Stage(_recording(stages[i].layer, sink), stages[i].params, stages[i].option)
    return Sandwich(stages)


def _activation(sandwich) -> str:
    stage = sandwich.stages[_watched_stage(sandwich)]
    return ACTIVATION_NAMES.get(stage.layer, "linear")


def layer_table(model) -> list[dict]:
    """[{"name", "activation", "units", "param"}] of the model's layers, first to last;
    ValueError for a model the probe cannot read."""
    if hasattr(model, "blocks"):  # ConvNetBase
        table = []
        for i, (block, _) in enumerate(model.blocks, start=1):
            kind = "fc" if block.stages[0].layer is Linear else "conv"
            w = model.params[f"W{i}"]
            table.append({"name": f"{kind}{i}", "activation": _activation(block),
                          "units": int(w.shape[0] if kind == "conv" else w.shape[1])})
    elif hasattr(model, "hidden") and hasattr(model, "num_layers"):  # FullyConnectedNet
        last = model.num_layers
        table = [{"name": f"fc{i}", "activation": _activation(model.hidden) if i < last
                  else "linear", "units": int(model.params[f"W{i}"].shape[1])}
                 for i in range(1, last + 1)]
    else:
        raise ValueError(f"probes cannot read a {type(model).__name__}: they read "
                         "FullyConnectedNet and the conv nets (models with `hidden` or `blocks`)")
    for i, row in enumerate(table, start=1):
        row["param"] = f"W{i}"
    return table


class ScratchProbe:
    """Per-layer statistics of a scratch model every `every` steps, written by `writer`
    (a store.ProbeWriter, or anything with write(records))."""

    def __init__(self, model, every: int, writer, bins=None):
        if every < 1:
            raise ValueError(f"every must be an int >= 1, got {every!r}")
        self.every, self.writer = every, writer
        self.bins = bins or stats.DEFAULT_BINS
        self.layers = layer_table(model)
        self._before, self._acts, self._saved = {}, [], None

    def begin(self, model, step: int) -> bool:
        """Before step `step` (1, 2, ...): False, doing nothing, unless it is probed; then
        keep the weights and watch the activations of this step's forward pass."""
        if step % self.every:
            return False
        self._before = {row["param"]: model.params[row["param"]].copy() for row in self.layers}
        self._acts = []
        self._watch(model)
        return True

    def _watch(self, model):
        # the model's own objects are swapped for recording twins for one step, then put back
        if hasattr(model, "blocks"):
            self._saved = ("blocks", model.blocks)
            model.blocks = [(_recording_sandwich(block, self._acts.append), options)
                            for block, options in model.blocks]
        else:
            self._saved = ("hidden", model.hidden, model.loss_fn)
            model.hidden = _recording_sandwich(model.hidden, self._acts.append)
            loss_fn = model.loss_fn

            def scores_then_loss(scores, y):  # the last layer's outputs, the class scores
                self._acts.append(scores)
                return loss_fn(scores, y)

            model.loss_fn = scores_then_loss

    def _unwatch(self, model):
        if self._saved is None:
            return
        if self._saved[0] == "blocks":
            model.blocks = self._saved[1]
        else:
            model.hidden, model.loss_fn = self._saved[1], self._saved[2]
        self._saved = None

    def after_step(self, model, grads: dict, step: int, epoch: int) -> list[dict]:
        """After the update of a probed step: the model back as it was, one record per layer
        written and returned."""
        self._unwatch(model)
        acts = self._acts if len(self._acts) == len(self.layers) else [None] * len(self.layers)
        records = []
        for row, act in zip(self.layers, acts, strict=True):
            before = self._before[row["param"]]
            record = {"step": step, "epoch": epoch, "layer": row["name"],
                      **stats.layer_stats(act, row["activation"], grads.get(row["param"]),
                                          before, self.bins)}
            record["update_ratio"] = stats.update_ratio(before, model.params[row["param"]])
            record["hist"] = record.pop("hist")  # last: the long part of the line
            records.append(record)
        self._before, self._acts = {}, []
        self.writer.write(records)
        return records


def for_run(run, cell: str, model) -> ScratchProbe | None:
    """The probe of a cell when the run's probes setting is on (writing
    probes/<cell>.jsonl), else None."""
    every = setting.run_every(run)
    if every is None:
        return None
    writer = store.cell_writer(run.path, cell, "scratch", every, layer_table(model),
                               stats.DEFAULT_BINS)
    return ScratchProbe(model, every, writer)
