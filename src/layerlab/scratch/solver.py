"""The Solver: trains a scratch model with minibatch gradient descent.

    solver = Solver(model, data, update_rule="adam", optim_config={"learning_rate": 1e-3},
                    num_epochs=10, batch_size=100, seed=0)
    solver.train()
    model.params = solver.best_params   # the params with the best validation accuracy

Each epoch visits every training sample once, in a fresh random order (minibatches drawn
without replacement; the last batch may be smaller, and a last batch of one sample joins the
one before it). After every epoch the learning rate of
every parameter is multiplied by `lr_decay`, accuracy is measured, and, with a
`checkpoint_name`, a checkpoint is written atomically. A new Solver continues from one with
`resume_from=PATH`, to the same weights an uninterrupted run reaches.

A checkpoint is one `.npz` that runs no code when read (`np.load(allow_pickle=False)`): every
array of the training state as a member `a0`, `a1`, ...; `meta`, the UTF-8 JSON of everything
else ({format, state}: the state with each array replaced by {"__array__": "aK"}, each NumPy
scalar by {"__scalar__": "aK"}, tuples and non-finite floats marked); and `sha256`, the hex
digest of `meta` and every array (name, dtype, shape, bytes), checked on load. A file that
cannot be read, fails the check, or is a pickle of the older format raises `CheckpointError`
naming it; nothing is loaded into the Solver or the model then.
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

from layerlab.atomic import atomic_write_bytes
from layerlab.progress import Progress
from layerlab.scratch.optim import UPDATE_RULES

FORMAT = "layerlab.scratch.solver-checkpoint/2"
STATE_KEYS = ("model", "optim_configs", "rng", "epoch", "batch_size", "best_val_acc",
              "best_params", "loss_history", "train_acc_history", "val_acc_history",
              "train_time")
_MARKERS = ("__array__", "__scalar__", "__tuple__", "__float__")


class CheckpointError(ValueError):
    """A checkpoint that cannot be used: truncated, garbage, failing its checksum, or of the
    older pickle format. `path` is the file, `problem` what is wrong (one line)."""

    def __init__(self, path, problem):
        self.path, self.problem = Path(path), problem
        super().__init__(f"{path}: {problem}")


def _pack(value, arrays, where="state"):
    """`value` as JSON-able data; its arrays and NumPy scalars go into `arrays` (a dict filled
    in place, names 'a0', 'a1', ...). Raises TypeError on anything else (e.g. a function)."""
    if isinstance(value, np.ndarray | np.generic):
        if value.dtype.hasobject:
            raise TypeError(f"cannot checkpoint the object array at {where}")
        name = f"a{len(arrays)}"
        arrays[name] = np.asarray(value)
        return {"__array__" if isinstance(value, np.ndarray) else "__scalar__": name}
    if isinstance(value, float) and not math.isfinite(value):
        return {"__float__": repr(value)}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dict):
        if not all(isinstance(k, str) and k not in _MARKERS for k in value):
            raise TypeError(f"cannot checkpoint the dict at {where}: keys must be strings")
        return {k: _pack(v, arrays, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list | tuple):
        items = [_pack(v, arrays, f"{where}[{i}]") for i, v in enumerate(value)]
        return {"__tuple__": items} if isinstance(value, tuple) else items
    raise TypeError(f"cannot checkpoint {type(value).__name__} at {where}")


def _unpack(value, arrays):
    """The inverse of `_pack`: JSON data and its arrays back to the state."""
    if isinstance(value, list):
        return [_unpack(v, arrays) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1 and next(iter(value)) in _MARKERS:
        kind, item = next(iter(value.items()))
        if kind == "__array__":
            return arrays[item].copy()
        if kind == "__scalar__":
            return arrays[item][()]
        if kind == "__float__":
            return float(item)
        return tuple(_unpack(v, arrays) for v in item)
    return {k: _unpack(v, arrays) for k, v in value.items()}


def _digest(meta: bytes, arrays: dict) -> str:
    """SHA-256 hex of the JSON bytes and of every array (name, dtype, shape, bytes)."""
    h = hashlib.sha256(meta)
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"|{name}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def write_checkpoint(path, state: dict) -> Path:
    """Write `state` (nested dicts, lists, tuples, numbers, strings, None, arrays) to `path`
    as the checkpoint `.npz` described in the module docstring, atomically; returns the path."""
    arrays = {}
    meta = json.dumps({"format": FORMAT, "state": _pack(state, arrays)},
                      allow_nan=False).encode()
    members = dict(arrays, meta=np.frombuffer(meta, np.uint8),
                   sha256=np.frombuffer(_digest(meta, arrays).encode(), np.uint8))
    buffer = io.BytesIO()
    np.savez(buffer, **members)
    return atomic_write_bytes(path, buffer.getvalue())


def read_checkpoint(path) -> dict:
    """The state `write_checkpoint` wrote (dict with STATE_KEYS: model {params, norm_params,
    rng}, optim_configs, rng, epoch, histories as lists, ...), checksum verified.

    Raises FileNotFoundError when there is no file and CheckpointError (naming the file) when
    it is unreadable, fails its checksum or is a pickle; never unpickles anything.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}: pass a file written by a Solver "
                                "with checkpoint_name set")
    with open(path, "rb") as f:
        head = f.read(2)
    if path.suffix == ".pkl" or head[:1] == b"\x80":
        raise CheckpointError(path, "a Solver checkpoint of the old pickle format, no longer "
                              "read (unpickling a file can run code)")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
        meta, digest = arrays.pop("meta").tobytes(), arrays.pop("sha256").tobytes().decode()
    except Exception as err:  # whatever the zip/npy reader met, the file is unusable
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise CheckpointError(path, f"unreadable (truncated or not a checkpoint: {reason})"
                              ) from err
    if digest != _digest(meta, arrays):
        raise CheckpointError(path, "checksum mismatch (the file changed after it was written)")
    try:
        content = json.loads(meta)
        if content.get("format") != FORMAT:
            raise ValueError(f"format {content.get('format')!r}, expected {FORMAT!r}")
        state = _unpack(content["state"], arrays)
        missing = [k for k in STATE_KEYS if k not in state]
        if missing:
            raise ValueError(f"missing {missing}")
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        raise CheckpointError(path, f"not a Solver checkpoint ({err})") from err
    return state


class Solver:
    """Minibatch training of a model with `params` and `loss(X, y=None)`.

    Args:
        model: a scratch model.
        data: dict with X_train (N, ...), y_train (N,), X_val, y_val.
        update_rule: name in optim.UPDATE_RULES ('sgd', 'sgd_momentum', 'rmsprop', 'adam') or a
            function update(w, dw, config) -> (next_w, config).
        optim_config: hyper-parameters passed to the update rule (copied per parameter).
        lr_decay: learning-rate factor applied after every epoch.
        batch_size, num_epochs: as named.
        num_train_samples: training samples used to measure train accuracy (None: all).
        num_val_samples: validation samples used to measure val accuracy (None: all).
        checkpoint_name: if set, '{checkpoint_name}_epoch_{e}.npz' is written after every epoch.
        print_every: log the loss every this many iterations (0: never).
        verbose: print progress and per-epoch accuracy.
        seed: seeds the shuffling and sub-sampling, so a run is repeatable.
        time_limit: stop after this many seconds of training (checked every iteration).
        resume_from: a checkpoint path to continue from (CheckpointError if it is corrupt;
            nothing is loaded then).
        stream: where progress goes (sys.stdout).
        epoch_callback: called as epoch_callback(solver) after every epoch, once its
            checkpoint is written (the experiment runner streams metrics with it).
        probe: None (nothing is called), or a per-layer probe (layerlab.probing.scratch):
            `probe.begin(model, step)` before every step and, on the steps it probes,
            `probe.after_step(model, grads, step, epoch)` after the update.
    """

    def __init__(self, model, data, update_rule="sgd", optim_config=None, lr_decay=1.0,
                 batch_size=100, num_epochs=10, num_train_samples=1000, num_val_samples=None,
                 checkpoint_name=None, print_every=10, verbose=True, seed=None, time_limit=None,
                 resume_from=None, stream=None, epoch_callback=None, probe=None):
        for key in ("X_train", "y_train", "X_val", "y_val"):
            if key not in data:
                raise ValueError(f"data is missing {key!r}: the Solver needs X_train, y_train, "
                                 "X_val and y_val")
        if len(data["X_train"]) != len(data["y_train"]):
            raise ValueError(f"X_train has {len(data['X_train'])} samples but y_train has "
                             f"{len(data['y_train'])}")
        if isinstance(update_rule, str):
            if update_rule not in UPDATE_RULES:
                raise ValueError(f"unknown update rule {update_rule!r}; choose one of "
                                 f"{sorted(UPDATE_RULES)}")
            update_rule = UPDATE_RULES[update_rule]
        if batch_size < 1 or num_epochs < 0:
            raise ValueError("batch_size must be >= 1 and num_epochs >= 0")
        self.model = model
        self.X_train, self.y_train = data["X_train"], data["y_train"]
        self.X_val, self.y_val = data["X_val"], data["y_val"]
        self.update_rule = update_rule
        self.lr_decay = lr_decay
        self.batch_size = batch_size
        self.num_epochs = num_epochs
        self.num_train_samples = num_train_samples
        self.num_val_samples = num_val_samples
        self.checkpoint_name = checkpoint_name
        self.print_every = print_every
        self.verbose = verbose
        self.time_limit = time_limit
        self.stream = stream if stream is not None else sys.stdout
        self.epoch_callback = epoch_callback
        self.probe = probe
        self.rng = np.random.default_rng(seed)

        self.epoch = 0
        self.best_val_acc = -1.0
        self.best_params = {}
        self.loss_history = []
        self.train_acc_history = []
        self.val_acc_history = []
        self.stopped_early = None  # None, 'time_limit' or 'diverged'
        self.diverged = None  # divergence: {"step", "epoch", "last_finite_loss"} (train())
        self.train_time = 0.0
        self.optim_configs = {name: dict(optim_config or {}) for name in model.params}
        if resume_from is not None:
            self.load_checkpoint(resume_from)

    @property
    def iterations_per_epoch(self):
        """Batches per epoch. A last batch of a single sample joins the one before it: batch
        statistics (batchnorm in train mode) need at least two samples."""
        n = len(self.X_train)
        batches = max(math.ceil(n / self.batch_size), 1)
        return batches - 1 if batches > 1 and n % self.batch_size == 1 else batches

    def _batch(self, order, b):
        """The indices of batch b of an epoch in `order` (the last batch takes the rest)."""
        end = None if b == self.iterations_per_epoch - 1 else (b + 1) * self.batch_size
        return order[b * self.batch_size:end]

    def _step(self, X_batch, y_batch):
        step = len(self.loss_history) + 1
        probed = self.probe is not None and self.probe.begin(self.model, step)
        loss, grads = self.model.loss(X_batch, y_batch)
        self.loss_history.append(float(loss))
        for name, w in self.model.params.items():
            next_w, self.optim_configs[name] = self.update_rule(w, grads[name],
                                                                self.optim_configs[name])
            self.model.params[name] = next_w
        if probed:
            self.probe.after_step(self.model, grads, step, self.epoch + 1)
        return loss

    def check_accuracy(self, X, y, num_samples=None, batch_size=100):
        """Accuracy of the model on (X, y), in batches; sub-sampled to num_samples if given."""
        N = len(X)
        if num_samples is not None and N > num_samples:
            idx = self.rng.choice(N, num_samples, replace=False)
            X, y = X[idx], y[idx]
        predictions = [np.argmax(self.model.loss(X[i:i + batch_size]), axis=1)
                       for i in range(0, len(X), batch_size)]
        return float(np.mean(np.concatenate(predictions) == y)) if len(X) else float("nan")

    def _record_accuracy(self):
        train_acc = self.check_accuracy(self.X_train, self.y_train, self.num_train_samples)
        val_acc = self.check_accuracy(self.X_val, self.y_val, self.num_val_samples)
        self.train_acc_history.append(train_acc)
        self.val_acc_history.append(val_acc)
        if val_acc > self.best_val_acc:
            self.best_val_acc = val_acc
            self.best_params = {k: v.copy() for k, v in self.model.params.items()}
        return train_acc, val_acc

    def train(self):
        """Train until num_epochs (or the time limit); returns self."""
        total = self.num_epochs * self.iterations_per_epoch
        progress = Progress(total, "train", self.stream, enabled=self.verbose)
        progress.update(self.epoch * self.iterations_per_epoch)
        if not self.val_acc_history:  # accuracy before any training, as epoch 0
            train_acc, val_acc = self._record_accuracy()
            if self.verbose:
                progress.write(f"(Epoch 0 / {self.num_epochs}) train acc: {train_acc:.4f}; "
                               f"val acc: {val_acc:.4f}")
        start = time.perf_counter() - self.train_time
        while self.epoch < self.num_epochs and self.stopped_early is None:
            order = self.rng.permutation(len(self.X_train))
            for b in range(self.iterations_per_epoch):
                idx = self._batch(order, b)
                loss = self._step(self.X_train[idx], self.y_train[idx])
                progress.update(1, f"loss {loss:.4f}")
                it = len(self.loss_history)
                if self.verbose and self.print_every and it % self.print_every == 0 \
                        and not progress.live:
                    progress.write(f"(Iteration {it} / {total}) loss: {loss:.6f}")
                if not np.isfinite(loss):
                    self.stopped_early = "diverged"
                    # --- the divergence record (layerlab.analysis.divergence) ---
                    self.diverged = {"step": it, "epoch": self.epoch + 1, "last_finite_loss":
                                     float(self.loss_history[-2]) if it > 1 else None}
                    break
                if self.time_limit is not None and time.perf_counter() - start > self.time_limit:
                    self.stopped_early = "time_limit"
                    break
            if self.stopped_early is not None:
                if self.verbose:
                    progress.write(f"stopped early in epoch {self.epoch + 1}: {self.stopped_early}")
                break
            self.epoch += 1
            for config in self.optim_configs.values():
                config["learning_rate"] *= self.lr_decay  # set by the rule on its first step
            train_acc, val_acc = self._record_accuracy()
            self.train_time = time.perf_counter() - start
            if self.verbose:
                progress.write(f"(Epoch {self.epoch} / {self.num_epochs}) train acc: "
                               f"{train_acc:.4f}; val acc: {val_acc:.4f}; "
                               f"loss {self.loss_history[-1]:.4f}")
            self.save_checkpoint()
            if self.epoch_callback is not None:
                self.epoch_callback(self)
        self.train_time = time.perf_counter() - start
        progress.close()
        return self

    def checkpoint_path(self, epoch=None):
        """Path of the checkpoint written after `epoch` (default: the current one)."""
        return Path(f"{self.checkpoint_name}_epoch_{self.epoch if epoch is None else epoch}.npz")

    def save_checkpoint(self):
        """Write the full training state after the current epoch (no-op without a name)."""
        if self.checkpoint_name is None:
            return None
        state = {
            "model": self.model.state_dict(),
            "optim_configs": copy.deepcopy(self.optim_configs),
            "rng": self.rng.bit_generator.state,
            "epoch": self.epoch,
            "batch_size": self.batch_size,
            "lr_decay": self.lr_decay,
            "num_epochs": self.num_epochs,
            "best_val_acc": self.best_val_acc,
            "best_params": self.best_params,
            "loss_history": np.asarray(self.loss_history, dtype=np.float64),
            "train_acc_history": np.asarray(self.train_acc_history, dtype=np.float64),
            "val_acc_history": np.asarray(self.val_acc_history, dtype=np.float64),
            "train_time": self.train_time,
        }
        return write_checkpoint(self.checkpoint_path(), state)

    def load_checkpoint(self, path):
        """Continue from a checkpoint written by `save_checkpoint`.

        The whole file is read and verified first (`read_checkpoint`): a corrupt one raises
        CheckpointError with the Solver and its model untouched.
        """
        state = read_checkpoint(path)
        if state["batch_size"] != self.batch_size:
            raise ValueError(f"checkpoint was trained with batch_size {state['batch_size']}, "
                             f"this Solver has {self.batch_size}: use the same batch size")
        self.model.load_state_dict(state["model"])
        self.optim_configs = state["optim_configs"]
        self.rng.bit_generator.state = state["rng"]
        self.epoch = state["epoch"]
        self.best_val_acc = state["best_val_acc"]
        self.best_params = state["best_params"]
        self.loss_history = np.asarray(state["loss_history"], dtype=np.float64).tolist()
        self.train_acc_history = np.asarray(state["train_acc_history"], np.float64).tolist()
        self.val_acc_history = np.asarray(state["val_acc_history"], np.float64).tolist()
        self.train_time = state["train_time"]
