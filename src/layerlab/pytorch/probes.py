"""Probes: look inside training, layer by layer.

A probed layer is a module with its own `weight` parameter (Linear, Conv, BatchNorm) unless
`layers` names others. Per step `fit` calls `after_backward` (gradients as computed, before
clipping) and per epoch `end_epoch`. Recorded per layer:

    grad_norm    ||dL/dW||_2 of the layer's weight (S5's per-layer gradient norm)
    weight_norm  ||W||_2
    act_mean, act_std   mean and std of the layer's output on the training batch
                        (forward hooks; only with activations=True)

every='step' keeps one value per layer per optimizer step; every='epoch' keeps the mean over
the epoch's steps (weight_norm: its value at the last step). Weights are read when the
gradient is, i.e. before that step's update.

    probes = Probes(model, every="epoch", activations=True)
    fit(model, data, opt, epochs=5, batch_size=64, probes=probes)
    probes.history["fc1"]["grad_norm"]      # one float per epoch
    probes.steps                            # the step (or epoch) of each entry
"""

from __future__ import annotations

import torch
from torch import nn

KEYS = ("grad_norm", "weight_norm", "act_mean", "act_std")


def weighted_layers(model: nn.Module) -> dict[str, nn.Module]:
    """{name: module} of the modules holding their own `weight` parameter, in module order."""
    return {name: m for name, m in model.named_modules()
            if isinstance(getattr(m, "weight", None), nn.Parameter)}


class ForwardHooks:
    """The forward hooks a probe installs on a model (`self._hooks`), and their removal."""

    _hooks: list

    def remove(self) -> None:
        """Detach the forward hooks (what the probe recorded stays)."""
        for h in self._hooks:
            h.remove()
        self._hooks = []


class Probes(ForwardHooks):
    """Per-layer gradient and weight norms (and activation statistics) during `fit`."""

    def __init__(self, model: nn.Module, every: str = "step", activations: bool = False,
                 layers: list[str] | None = None):
        if every not in ("step", "epoch"):
            raise ValueError(f"every must be 'step' or 'epoch', not {every!r}")
        found = weighted_layers(model)
        named = dict(model.named_modules())
        if layers is not None:
            missing = [n for n in layers if n not in named]
            if missing:
                raise ValueError(f"no layers {missing} in the model; weighted layers are "
                                 f"{list(found)}")
            found = {n: named[n] for n in layers}
        self.layers = found
        self.every, self.activations = every, activations
        self.history = {name: {k: [] for k in self._keys()} for name in self.layers}
        self.steps: list[int] = []
        self._acc: dict[str, dict[str, list[float]]] = {}
        self._act: dict[str, tuple[float, float]] = {}
        self._hooks = []
        if activations:
            for name, module in self.layers.items():
                self._hooks.append(module.register_forward_hook(self._hook(name)))

    def _keys(self):
        return KEYS if self.activations else KEYS[:2]

    def _hook(self, name):
        def hook(module, inputs, output):
            if torch.is_grad_enabled():  # training steps only, not evaluation under no_grad
                out = output.detach()
                self._act[name] = (out.mean(), out.std())
        return hook

    @torch.no_grad()
    def after_backward(self, step: int) -> None:
        """Record the current gradients, weights and activation statistics of every layer."""
        names = list(self.layers)
        values = []
        for name in names:
            w = self.layers[name].weight
            g = w.grad
            row = [g.norm() if g is not None else torch.tensor(float("nan")), w.norm()]
            if self.activations:
                row += list(self._act.get(name, (torch.tensor(float("nan")),) * 2))
            values.append(torch.stack([torch.as_tensor(v, dtype=torch.float64) for v in row]))
        table = torch.stack(values).tolist()  # one conversion per step, not one per number
        if self.every == "step":
            self.steps.append(step)
            for name, row in zip(names, table, strict=True):
                for key, v in zip(self._keys(), row, strict=True):
                    self.history[name][key].append(v)
        else:
            for name, row in zip(names, table, strict=True):
                acc = self._acc.setdefault(name, {k: [] for k in self._keys()})
                for key, v in zip(self._keys(), row, strict=True):
                    acc[key].append(v)

    def end_epoch(self, epoch: int) -> None:
        """With every='epoch': append the epoch's means (weight_norm: its last value)."""
        if self.every != "epoch" or not self._acc:
            return
        self.steps.append(epoch)
        for name, acc in self._acc.items():
            for key, vals in acc.items():
                value = vals[-1] if key == "weight_norm" else sum(vals) / len(vals)
                self.history[name][key].append(value)
        self._acc = {}

    def series(self, key: str = "grad_norm") -> dict[str, list[float]]:
        """{layer: values} of one quantity, e.g. for a per-layer plot."""
        return {name: h[key] for name, h in self.history.items()}
