"""Checkpoints: a model's state_dict with its config, written atomically.

The file is `torch.save` of a dict {format, model, model_config, config (JSON text), extra
(JSON text), state_dict, sha256}. Config and extra are kept as JSON text so that `torch.load`
runs with `weights_only=True` (tensors and plain Python values only: loading runs no code)
whatever they hold. sha256 (`digest`) covers every other entry, tensors to the last byte; it is
checked on load. `save_verified`/`load_verified` do the same for any payload of tensors and
plain values (`fit`'s training state). A file that cannot be loaded, holds other objects, or
fails its checksum raises `CheckpointError` naming it, in one line.
"""

from __future__ import annotations

import hashlib
import io
import json
import pickle
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from layerlab.atomic import atomic_write_bytes

FORMAT = "layerlab.pytorch.checkpoint/2"
OLD_FORMATS = ("layerlab.pytorch.checkpoint/1",)  # weights files without a checksum: read


class CheckpointError(ValueError):
    """A checkpoint that cannot be used: truncated, garbage, failing its checksum, or holding
    objects other than tensors and plain values. `path` is the file, `problem` (one line)."""

    def __init__(self, path, problem):
        self.path, self.problem = Path(path), problem
        super().__init__(f"{path}: {problem}")


def _feed(h, value, where) -> None:
    """Hash `value` (tensors, dicts, lists, tuples, str, int, float, bool, None) into h.
    Raises TypeError naming `where` for anything else: it could not be loaded safely."""
    if isinstance(value, torch.Tensor):
        t = value.detach().cpu().contiguous().reshape(-1)
        h.update(f"T{t.dtype}{tuple(value.shape)}|".encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    elif isinstance(value, dict):
        h.update(f"D{len(value)}|".encode())
        for k, v in value.items():
            _feed(h, k, where)
            _feed(h, v, f"{where}.{k}")
    elif isinstance(value, list | tuple):
        h.update(f"{'L' if isinstance(value, list) else 'U'}{len(value)}|".encode())
        for i, v in enumerate(value):
            _feed(h, v, f"{where}[{i}]")
    elif value is None or isinstance(value, bool | int | float | str):
        h.update(f"{type(value).__name__}:{value!r}|".encode())
    else:
        raise TypeError(f"{where} is a {type(value).__name__}: a checkpoint holds only tensors "
                        "and plain Python values (dicts, lists, numbers, strings)")


def digest(payload: dict) -> str:
    """SHA-256 hex of every entry of `payload` but 'sha256' (tensor bytes, dtypes, shapes,
    plain values, key order)."""
    h = hashlib.sha256()
    _feed(h, {k: v for k, v in payload.items() if k != "sha256"}, "checkpoint")
    return h.hexdigest()


def save_verified(path, payload: dict) -> Path:
    """`torch.save` of payload plus its 'sha256' (`digest`), atomically; returns the path.
    TypeError (before anything is written) if the payload holds anything but tensors and
    plain values, so every file written loads with weights_only=True."""
    payload = {**payload, "sha256": digest(payload)}
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    return atomic_write_bytes(path, buffer.getvalue())


def load_verified(path, formats, old_formats=()) -> dict:
    """The payload `save_verified` wrote, checksum checked, loaded with weights_only=True.

    Its 'format' must be one of `formats` (with 'sha256'), or of `old_formats` (files written
    before checksums, accepted without one). Raises FileNotFoundError when there is no file,
    CheckpointError (naming it) for anything else wrong.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        raise CheckpointError(path, "refused: it holds objects other than tensors and plain "
                              "values (loading it could run code)") from err
    except Exception as err:  # whatever torch's reader met, the file is unusable
        reason = str(err).splitlines()[0].split(". ")[0] if str(err) else type(err).__name__
        raise CheckpointError(path, f"unreadable (truncated or not a checkpoint: {reason})"
                              ) from err
    fmt = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
    if fmt not in (*formats, *old_formats):
        raise CheckpointError(path, f"not a layerlab.pytorch checkpoint (format {fmt!r}, "
                              f"expected {formats[0]!r})")
    if fmt in old_formats and "sha256" not in payload:
        return payload
    try:
        ok = payload.get("sha256") == digest(payload)
    except TypeError as err:
        raise CheckpointError(path, f"not a layerlab.pytorch checkpoint ({err})") from err
    if not ok:
        raise CheckpointError(path, "checksum mismatch (the file changed after it was written)"
                              if "sha256" in payload else "no checksum")
    del payload["sha256"]
    return payload


def _json(value) -> str:
    return json.dumps(value, default=lambda v: v.tolist() if hasattr(v, "tolist") else str(v))


def save(path, model: nn.Module, config: dict | None = None, extra: dict | None = None):
    """Write model.state_dict(), the model's class and `.config`, `config` and `extra`, with
    their checksum; returns the path."""
    payload = {"format": FORMAT, "model": type(model).__name__,
               "model_config": _json(getattr(model, "config", None)),
               "config": _json(config), "extra": _json(extra),
               "state_dict": model.state_dict()}
    return save_verified(path, payload)


def read(path) -> dict:
    """The checkpoint as a dict {format, model, model_config, config, extra, state_dict}:
    config, extra and model_config decoded from JSON. Raises CheckpointError naming the file
    when it is corrupt, tampered, or not a layerlab.pytorch checkpoint."""
    payload = load_verified(path, (FORMAT,), OLD_FORMATS)
    try:
        for key in ("model_config", "config", "extra"):
            payload[key] = json.loads(payload[key])
        if not isinstance(payload.get("state_dict"), dict) or "model" not in payload:
            raise KeyError("state_dict or model")
    except (KeyError, TypeError, ValueError) as err:
        raise CheckpointError(path, f"not a layerlab.pytorch checkpoint ({err!r})") from err
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
