"""Probing PyTorch modules while `layerlab.pytorch.fit` trains them.

    probe = TorchProbe(model, every=10, writer=...)        # or for_run(run, cell, model)
    fit(model, data, opt, epochs=5, batch_size=64, probes=probe)

The probe speaks fit's probes interface: `after_backward(step)` after every backward pass and
`end_epoch(epoch)` after every epoch. On a probed step (every K-th) it reads each layer's
activations (kept by a forward hook), weight gradient and weight, and copies the weight; the
update of that step is known at the next call (the next step's `after_backward`, or the
epoch's end), which gives the update-to-weight ratio. An epoch's records are written at its
end, when its number is known.

Layers: every nn.Linear and nn.Conv1d/2d/3d, in module order. A layer's activations are the
output of the first activation module (ReLU, LeakyReLU, Tanh, Sigmoid) after it in module
order and before the next layer (batchnorm between them is passed over), else (the output
layer, or an activation applied as a function in forward) the layer's own output, activation
'linear'. A module used more than once in one forward pass gives no activation statistics.
"""

from __future__ import annotations

import torch
from torch import nn

from layerlab.probing import setting, stats, store
from layerlab.pytorch.probes import ForwardHooks

ACTIVATION_TYPES = {nn.ReLU: "relu", nn.LeakyReLU: "leaky_relu", nn.Tanh: "tanh",
                    nn.Sigmoid: "sigmoid"}
LAYER_TYPES = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)


def layer_table(model: nn.Module) -> list[dict]:
    """[{"name", "activation", "units", "module", "watched"}] of the model's layers in module
    order; `watched` is the module whose output is the layer's activation."""
    table: list[dict] = []
    for name, module in model.named_modules():
        if isinstance(module, LAYER_TYPES):
            units = module.out_features if isinstance(module, nn.Linear) else module.out_channels
            table.append({"name": name, "activation": "linear", "units": int(units),
                          "module": module, "watched": module})
        elif type(module) in ACTIVATION_TYPES and table and table[-1]["watched"] is \
                table[-1]["module"]:
            table[-1].update(activation=ACTIVATION_TYPES[type(module)], watched=module)
    if not table:
        raise ValueError(f"probes found no Linear or Conv layer in {type(model).__name__}")
    return table


def _numpy(tensor):
    """A tensor as a NumPy array (no copy for a float32/float64 tensor on the CPU)."""
    t = tensor.detach().cpu()
    return (t if t.dtype in (torch.float32, torch.float64) else t.float()).numpy()


class TorchProbe(ForwardHooks):
    """Per-layer statistics of a torch module every `every` steps of `fit`, written by
    `writer` (a store.ProbeWriter, or anything with write(records))."""

    def __init__(self, model: nn.Module, every: int, writer, bins=None):
        if every < 1:
            raise ValueError(f"every must be an int >= 1, got {every!r}")
        self.every, self.writer = every, writer
        self.bins = bins or stats.DEFAULT_BINS
        self.layers = layer_table(model)
        self.history, self.steps = {}, []  # fit's checkpoint keeps these: this probe's are files
        self._outputs: dict = {}
        self._pending = None  # (records, weights before) of a probed step awaiting its update
        self._epoch: list[dict] = []
        self._hooks = [row["watched"].register_forward_hook(self._keep(row["name"]))
                       for row in self.layers]

    def _keep(self, name):
        def hook(module, inputs, output):
            if module.training and torch.is_grad_enabled():  # training passes, not evaluation
                self._outputs.setdefault(name, []).append(output)  # a reference, no copy
        return hook

    @torch.no_grad()
    def after_backward(self, step: int) -> None:
        """After the backward pass of step `step`: finish the last probed step (its update is
        done now) and measure this one if it is probed."""
        self._finish()
        if step % self.every == 0:
            self._pending = self._measure(step)
        self._outputs = {}

    def _measure(self, step):
        records, before = [], []
        for row in self.layers:
            seen = self._outputs.get(row["name"], [])
            act = _numpy(seen[0]) if len(seen) == 1 else None
            w = row["module"].weight
            grad = _numpy(w.grad) if w.grad is not None else None
            weight = _numpy(w)
            record = {"step": step, "epoch": None, "layer": row["name"],
                      **stats.layer_stats(act, row["activation"], grad, weight, self.bins)}
            records.append(record)
            before.append(weight.copy())
        return records, before

    @torch.no_grad()
    def _finish(self):
        if self._pending is None:
            return
        records, before = self._pending
        for record, row, w in zip(records, self.layers, before, strict=True):
            record["update_ratio"] = stats.update_ratio(w, _numpy(row["module"].weight))
            record["hist"] = record.pop("hist")  # last: the long part of the line
        self._epoch += records
        self._pending = None

    def end_epoch(self, epoch: int) -> None:
        """After epoch `epoch`: its records written."""
        self._finish()
        for record in self._epoch:
            record["epoch"] = epoch
        self.writer.write(self._epoch)
        self._epoch = []


class Chain:
    """Several probes as one for `fit`: each gets every call. history and steps are the
    first's (fit's checkpoint keeps them)."""

    def __init__(self, *probes):
        self.probes = probes

    @property
    def history(self):
        return self.probes[0].history

    @history.setter
    def history(self, value):
        self.probes[0].history = value

    @property
    def steps(self):
        return self.probes[0].steps

    @steps.setter
    def steps(self, value):
        self.probes[0].steps = value

    def after_backward(self, step: int) -> None:
        """Each probe's after_backward."""
        for p in self.probes:
            p.after_backward(step)

    def end_epoch(self, epoch: int) -> None:
        """Each probe's end_epoch."""
        for p in self.probes:
            p.end_epoch(epoch)


def chain(*probes):
    """The probes that are not None as one for fit: None, the only one, or a Chain."""
    present = [p for p in probes if p is not None]
    if len(present) < 2:
        return present[0] if present else None
    return Chain(*present)


def for_run(run, cell: str, model: nn.Module) -> TorchProbe | None:
    """The probe of a cell when the run's probes setting is on (writing
    probes/<cell>.jsonl), else None (and no hook is installed)."""
    every = setting.run_every(run)
    if every is None:
        return None
    writer = store.cell_writer(run.path, cell, "torch", every, layer_table(model),
                               stats.DEFAULT_BINS)
    return TorchProbe(model, every, writer)
