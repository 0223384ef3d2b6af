"""Sandwich layers composed generically from a list of stages.

A stage names a layer class, the learnable parameters it takes after the input, and the option
dict (if any) it takes last. `Sandwich(stages)` runs them in order, so Linear -> [norm] ->
activation -> [dropout] (and, later, conv -> [norm] -> ReLU -> [pool]) is a list, not a
hand-written class per combination.
"""

from __future__ import annotations

from dataclasses import dataclass

from layerlab.scratch.dropout import Dropout
from layerlab.scratch.layers import ACTIVATIONS, Linear
from layerlab.scratch.norm import NORMS


@dataclass(frozen=True)
class Stage:
    """One step of a sandwich.

    layer: class with static forward/backward.
    params: names of the learnable parameters passed to forward after x, e.g. ('W', 'b').
    option: key of the option dict passed to forward last (e.g. 'norm'), or None.
    """

    layer: type
    params: tuple[str, ...] = ()
    option: str | None = None


class Sandwich:
    """A chain of stages with one forward and one backward."""

    def __init__(self, stages):
        self.stages = tuple(stages)

    def forward(self, x, params, options=None):
        """
        Args:
            x: the first stage's input.
            params: dict of the learnable parameters named by the stages.
            options: dict from option key to the option dict of that stage.
        Returns:
            out: the last stage's output, cache.
        """
        options = options or {}
        caches = []
        for stage in self.stages:
            args = [params[name] for name in stage.params]
            if stage.option is not None:
                args.append(options[stage.option])
            x, cache = stage.layer.forward(x, *args)
            caches.append(cache)
        return x, caches

    def backward(self, dout, cache, need_dx=True):
        """
        Args:
            dout: upstream gradient of the output.
            need_dx: False skips the input gradient of the first stage, whose layer must then
                accept `need_dx=False` (Linear does).
        Returns:
            dx (or None), grads: dict with the gradient of every named parameter.
        """
        grads = {}
        for i in range(len(self.stages) - 1, -1, -1):
            stage = self.stages[i]
            if i == 0 and not need_dx:
                result = stage.layer.backward(dout, cache[i], need_dx=False)
            else:
                result = stage.layer.backward(dout, cache[i])
            if stage.params:
                dout = result[0]
                grads.update(zip(stage.params, result[1:], strict=True))
            else:
                dout = result
        return dout, grads


def fc_sandwich(activation="relu", norm=None, dropout=False):
    """Linear -> [norm] -> activation -> [dropout].

    Parameters are named 'W', 'b' (and 'gamma', 'beta' with a norm); options 'norm' and
    'dropout'.
    """
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; choose one of {sorted(ACTIVATIONS)}")
    stages = [Stage(Linear, ("W", "b"))]
    if norm is not None:
        if norm not in NORMS:
            raise ValueError(f"unknown normalization {norm!r}; choose one of {sorted(NORMS)}")
        stages.append(Stage(NORMS[norm], ("gamma", "beta"), "norm"))
    stages.append(Stage(ACTIVATIONS[activation]))
    if dropout:
        stages.append(Stage(Dropout, (), "dropout"))
    return Sandwich(stages)
