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
"""

from __future__ import annotations

import copy
import math
import pickle
import sys
import time
from pathlib import Path

import numpy as np

from layerlab.atomic import atomic_pickle
from layerlab.progress import Progress
from layerlab.scratch.optim import UPDATE_RULES


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
        checkpoint_name: if set, '{checkpoint_name}_epoch_{e}.pkl' is written after every epoch.
        print_every: log the loss every this many iterations (0: never).
        verbose: print progress and per-epoch accuracy.
        seed: seeds the shuffling and sub-sampling, so a run is repeatable.
        time_limit: stop after this many seconds of training (checked every iteration).
        resume_from: a checkpoint path to continue from.
        stream: where progress goes (sys.stdout).
        epoch_callback: called as epoch_callback(solver) after every epoch, once its
            checkpoint is written (the experiment runner streams metrics with it).
    """

    def __init__(self, model, data, update_rule="sgd", optim_config=None, lr_decay=1.0,
                 batch_size=100, num_epochs=10, num_train_samples=1000, num_val_samples=None,
                 checkpoint_name=None, print_every=10, verbose=True, seed=None, time_limit=None,
                 resume_from=None, stream=None, epoch_callback=None):
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
        self.rng = np.random.default_rng(seed)

        self.epoch = 0
        self.best_val_acc = -1.0
        self.best_params = {}
        self.loss_history = []
        self.train_acc_history = []
        self.val_acc_history = []
        self.stopped_early = None  # None, 'time_limit' or 'diverged'
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
        loss, grads = self.model.loss(X_batch, y_batch)
        self.loss_history.append(float(loss))
        for name, w in self.model.params.items():
            next_w, self.optim_configs[name] = self.update_rule(w, grads[name],
                                                                self.optim_configs[name])
            self.model.params[name] = next_w
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
        return Path(f"{self.checkpoint_name}_epoch_{self.epoch if epoch is None else epoch}.pkl")

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
            "loss_history": self.loss_history,
            "train_acc_history": self.train_acc_history,
            "val_acc_history": self.val_acc_history,
            "train_time": self.train_time,
        }
        return atomic_pickle(self.checkpoint_path(), state)

    def load_checkpoint(self, path):
        """Continue from a checkpoint written by `save_checkpoint`."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"no checkpoint at {path}: pass a file written by a Solver "
                                    "with checkpoint_name set")
        with open(path, "rb") as f:
            state = pickle.load(f)
        if state["batch_size"] != self.batch_size:
            raise ValueError(f"checkpoint was trained with batch_size {state['batch_size']}, "
                             f"this Solver has {self.batch_size}: use the same batch size")
        self.model.load_state_dict(state["model"])
        self.optim_configs = state["optim_configs"]
        self.rng.bit_generator.state = state["rng"]
        self.epoch = state["epoch"]
        self.best_val_acc = state["best_val_acc"]
        self.best_params = state["best_params"]
        self.loss_history = list(state["loss_history"])
        self.train_acc_history = list(state["train_acc_history"])
        self.val_acc_history = list(state["val_acc_history"])
        self.train_time = state["train_time"]
