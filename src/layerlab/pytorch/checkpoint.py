"""Checkpoints: a model's state_dict with its config, written atomically.

The file is `torch.save` of a dict {format, model, model_config, config (JSON text), extra
(JSON text), state_dict}. Config and extra are kept as JSON text so that `torch.load` can run
with `weights_only=True` (no unpickling of arbitrary objects) whatever they hold.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable

import torch
from torch import nn

from layerlab.atomic import atomic_write_bytes

FORMAT = "layerlab.pytorch.checkpoint/1"


def _json(value) -> str:
    return json.dumps(value, default=lambda v: v.tolist() if hasattr(v, "tolist") else str(v))


def save(path, model: nn.Module, config: dict | None = None, extra: dict | None = None):
    """Write model.state_dict(), the model's class and `.config`, `config` and `extra`."""
    payload = {"format": FORMAT, "model": type(model).__name__,
               "model_config": _json(getattr(model, "config", None)),
               "config": _json(config), "extra": _json(extra),
               "state_dict": model.state_dict()}
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    return atomic_write_bytes(path, buffer.getvalue())


def read(path) -> dict:
    """The checkpoint as a dict; config, extra and model_config decoded from JSON."""
    payload = torch.load(path, map_location="cpu", weights_only=True)
    if payload.get("format") != FORMAT:
        raise ValueError(f"{path} is not a layerlab.pytorch checkpoint "
                         f"(format {payload.get('format')!r})")
    for key in ("model_config", "config", "extra"):
        payload[key] = json.loads(payload[key])
    return payload


def load(path, model_factory: Callable[[dict], nn.Module] | None = None) -> nn.Module:
    """A fresh model with the saved weights, in eval mode.

    model_factory(config) builds the empty model from the saved `config`; without it, the
    saved class name (one of models.MODELS) is built from the model's own saved `.config`.
    """
    payload = read(path)
    if model_factory is not None:
        model = model_factory(payload["config"])
    else:
        from layerlab.pytorch.models import MODELS

        if payload["model"] not in MODELS or payload["model_config"] is None:
            raise ValueError(f"{path} holds a {payload['model']}, which load cannot build by "
                             "itself: pass model_factory")
        model = MODELS[payload["model"]](**payload["model_config"])
    model.load_state_dict(payload["state_dict"])
    return model.eval()
