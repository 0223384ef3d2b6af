"""One playground session: a setup, its points, its net and optimizer, the training by epochs of
minibatches, and the frames that show it. Not thread-safe: the server gives each session one
lock and calls it from one worker at a time.

Every public method that changes something returns the messages to send (dicts of the
protocol); a bad request raises SetupError or UploadError and changes nothing.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np

from layerlab.playground import measure, upload
from layerlab.playground import setup as setups
from layerlab.playground.data import Points, features, points_for, split
from layerlab.playground.net import Optimizer, build
from layerlab.playground.setup import SetupError

HISTORY_POINTS = 1000  # the curve a frame carries
# The record kept (and saved) is bounded too: past HISTORY_LIMIT epochs it keeps every 2nd,
# then every 4th ... epoch, so a tab left playing for hours holds a few MB, not gigabytes.
HISTORY_LIMIT = 100_000
LIVE = {"lr", "reg", "reg_rate", "batch", "order", "discretize"}  # changed without a reset
CURVE_DIGITS = 4  # significant digits of the losses in a frame's curve (the record keeps all)


class Session:
    """The state of one browser's playground."""

    def __init__(self, runs_dir="playground-runs", setup=None):
        self.runs_dir = Path(runs_dir)
        self.custom = None  # (train Points, test Points, problem, classes) of the user's points
        self.setup = setups.validate(setup or {})
        self.running = False
        self._load_data()
        self.reset()

    # --- data and net -----------------------------------------------------------------------

    @property
    def problem(self):
        """'classification' or 'regression'."""
        if self.setup["dataset"] == "custom":
            return self.custom[2]
        return setups.problem(self.setup)

    @property
    def regression(self):
        """True when the net fits targets (squared error), not classes."""
        return self.problem == "regression"

    def _load_data(self):
        if self.setup["dataset"] == "custom":
            if self.custom is None:
                raise SetupError("dataset", "dataset=custom has no points yet: upload a CSV "
                                 "or click on the plane to add points")
            self.train, self.test = self.custom[0], self.custom[1]
        else:
            self.train, self.test = points_for(self.setup)
        names = self.setup["features"]
        self.train_f, self.test_f = features(self.train.X, names), features(self.test.X, names)
        self._cache = {}  # evaluations of the old points are void

    def reset(self):
        """New weights from the seed, epoch 0, an empty curve; returns [frame]."""
        outputs = 1 if self.regression else self.setup["classes"]
        self.model = build(self.setup, len(self.setup["features"]), outputs)
        self.optimizer = Optimizer(self.setup["optimizer"], self.setup["lr"])
        self.order_rng = np.random.default_rng(self.setup["seed"] + 1_000_003)
        self.epoch, self.step, self.position, self.order = 0, 0, 0, None
        self.history, self.record_every, self.diverged = [], 1, None
        self.curve = []  # the history's [epoch, train_loss, test_loss], rounded for frames
        self.train_seconds = 0.0  # time spent training since the reset (the saved wall time)
        self._cache = {}
        self._record()
        return [self.frame()]

    def _check_custom_labels(self, setup):
        if setup["dataset"] != "custom" or self.custom is None or self.custom[2] != \
                "classification":
            return
        top = max(int(self.custom[0].y.max(initial=0)), int(self.custom[1].y.max(initial=0)))
        if top >= setup["classes"]:
            raise SetupError("classes", f"the custom points have labels up to {top}: classes "
                             f"must be at least {top + 1}")

    def apply(self, changes):
        """Merge `changes` onto the setup; a bad one raises SetupError and nothing changes.
        Returns [setup, frame]."""
        new = setups.validate(changes, self.setup)
        self._check_custom_labels(new)
        old = self.setup
        changed = {k for k in new if new[k] != old[k]}
        self.setup = new
        if changed <= LIVE:
            self.optimizer.learning_rate = new["lr"]
            for config in self.optimizer.configs.values():
                config["learning_rate"] = new["lr"]
            rate = new["reg_rate"] if new["reg"] != "none" else 0.0
            self.model.reg = rate if new["reg"] == "l2" else 0.0
            self.model.l1 = rate if new["reg"] == "l1" else 0.0
            if changed & {"batch", "order"}:
                self.position, self.order = 0, None
            return [self.setup_message(), self.frame()]
        try:
            self._load_data()
        except SetupError:
            self.setup = old
            raise
        self.running = False
        return [self.setup_message(), *self.reset()]

    def regenerate(self):
        """New data from seed + 1 (and so new weights)."""
        seed = (self.setup["seed"] + 1) % (2**31)
        return self.apply({"seed": seed})

    def setup_message(self):
        """The protocol's `setup` message: the setup, its query and the points."""
        def rows(points):
            labels = points.y.astype(float if self.regression else int)
            return [[round(float(a), 4), round(float(b), 4), v]
                    for (a, b), v in zip(points.X, labels.tolist(), strict=True)]

        return {"type": "setup", "setup": self.setup, "query": setups.to_query(self.setup),
                "problem": self.problem,
                "points": {"train": rows(self.train), "test": rows(self.test)}}

    # --- the user's own points ----------------------------------------------------------------

    def _use_custom(self, train, test, problem, classes):
        self.custom = (train, test, problem, classes)
        self.setup = {**self.setup, "dataset": "custom", "classes": classes}
        self._load_data()

    def add_point(self, x1, x2, label):
        """One more training point; switches to dataset=custom keeping the current points.
        Keeps the net and its training. Returns [setup, frame]."""
        x = [self._coordinate("x1", x1), self._coordinate("x2", x2)]
        if len(self.train.y) + len(self.test.y) >= upload.MAX_ROWS:
            raise SetupError("points", f"{upload.MAX_ROWS:,} points are the most a set holds: "
                             "reset the data (pick a dataset) to add more")
        if self.regression:
            if not _finite(label) or abs(float(label)) > 1:
                raise SetupError("label", f"label={label!r}: a regression target is a number "
                                 "in [-1, 1]")
            value = float(label)
        else:
            classes = self.setup["classes"]
            if not _finite(label) or float(label) != int(label) or not 0 <= label < classes:
                raise SetupError("label", f"label={label!r}: a class is a whole number "
                                 f"0..{classes - 1}")
            value = int(label)
        train = Points(np.vstack([self.train.X, [x]]), np.append(self.train.y, value))
        self._use_custom(train, self.test, self.problem, self.setup["classes"])
        return [self.setup_message(), self.frame()]

    @staticmethod
    def _coordinate(name, value):
        if not _finite(value) or abs(float(value)) > upload.EXTENT:
            raise SetupError(name, f"{name}={value!r}: a point's coordinate is a number in "
                             f"[-{upload.EXTENT:g}, {upload.EXTENT:g}]")
        return float(value)

    def upload(self, text):
        """The CSV's points, shuffled by the seed and split by train_ratio, as dataset=custom;
        a new net. Returns [setup, frame]. UploadError changes nothing."""
        X, y, problem, classes = upload.parse(text)
        order = np.random.default_rng(self.setup["seed"]).permutation(len(y))
        train, test = split(X[order], y[order], self.setup["train_ratio"])
        self._use_custom(train, test, problem, classes)
        self.running = False
        return [self.setup_message(), *self.reset()]

    # --- training -----------------------------------------------------------------------------

    def _new_order(self):
        if self.setup["order"] == "sorted":
            return np.argsort(self.train.y, kind="stable")
        return self.order_rng.permutation(len(self.train.y))

    def _train_batches(self, limit):
        """Up to `limit` minibatches, stopping at the end of the epoch; False if it diverged."""
        size, n = self.setup["batch"], len(self.train.y)
        for _ in range(limit):
            if self.order is None:
                self.order = self._new_order()
            batch = self.order[self.position * size:(self.position + 1) * size]
            self.position += 1
            if len(batch) >= 2 or not self.setup["batchnorm"]:  # batchnorm needs two points
                with np.errstate(all="ignore"):
                    loss, grads = self.model.loss(self.train_f[batch], self.train.y[batch])
                if not math.isfinite(loss):
                    return self._diverge(f"the training loss became {loss}")
                self.optimizer.step(self.model.params, grads)
                self.step += 1
                self._cache.clear()
            if self.position * size >= n:
                self.epoch += 1
                self.position, self.order = 0, None
                if self.epoch % self.record_every == 0:
                    self._record()
                break
        return self._check_weights()

    def _check_weights(self):
        for name, w in self.model.params.items():
            if not np.isfinite(w).all():
                return self._diverge(f"weight {name} is no longer finite")
        return True

    def _diverge(self, why):
        self.diverged = (f"training diverged at epoch {self.epoch}: {why}. Lower the learning "
                         "rate (or the weight you set), then reset")
        self.running = False
        return False

    def step_epoch(self):
        """Train to the end of the current epoch; returns the messages (a frame, or diverged
        and a frame)."""
        if self.diverged:
            return [self.diverged_message()]
        target, start = self.epoch + 1, time.perf_counter()
        while self.epoch < target and self._train_batches(len(self.train.y)):
            pass
        self.train_seconds += time.perf_counter() - start
        return self._after_training()

    def advance(self, seconds=1 / 60):
        """Train for about `seconds` (at least one minibatch), then the messages to send. It
        stops at the first minibatch past the time, mid-epoch too: the next call goes on from
        there, so the minibatches are those of uninterrupted training."""
        if self.diverged:
            return [self.diverged_message()]
        start = time.perf_counter()
        while self._train_batches(1) and time.perf_counter() - start < seconds:
            pass
        self.train_seconds += time.perf_counter() - start
        return self._after_training()

    def _after_training(self):
        """[frame], or [diverged, frame] when training diverged or the loss is not finite."""
        frame = self.frame()
        if not self.diverged and frame["train_loss"] is None:
            self._diverge("the training loss is not finite")
            frame["running"] = False
        return [self.diverged_message(), frame] if self.diverged else [frame]

    def diverged_message(self):
        """The protocol's `diverged` message."""
        return {"type": "diverged", "message": self.diverged, "epoch": self.epoch}

    def set_weight(self, layer, row, col, value):
        """Set one weight (layer 0: inputs -> hidden 1). Returns [frame] (with `diverged` first
        when the weight makes the loss non-finite)."""
        L = self.model.num_layers
        for name, v in (("layer", layer), ("row", row), ("col", col)):
            if isinstance(v, bool) or not isinstance(v, int):
                raise SetupError(name, f"{name}={v!r}: give a whole number")
        if not 0 <= layer < L:
            raise SetupError("layer", f"layer={layer}: this net has weight layers 0..{L - 1}")
        W = self.model.params[f"W{layer + 1}"]
        if not (0 <= row < W.shape[0] and 0 <= col < W.shape[1]):
            raise SetupError("row", f"row={row}, col={col}: layer {layer} has rows "
                             f"0..{W.shape[0] - 1} and columns 0..{W.shape[1] - 1}")
        if not _finite(value):
            raise SetupError("value", f"value={value!r}: a weight is a finite number")
        W[row, col] = float(value)
        self._cache.clear()
        return self._after_training()

    # --- what is shown ------------------------------------------------------------------------

    def _evaluate(self, split):
        """(hidden outputs, scores, loss, accuracy) of the net on 'train' or 'test', kept until
        the weights change (an epoch's record and the frame after it share one pass)."""
        if split not in self._cache:
            F, y = (self.train_f, self.train.y) if split == "train" else (self.test_f,
                                                                          self.test.y)
            with np.errstate(all="ignore"):
                layers, scores = self.model.hidden_outputs(F)
                loss, acc = measure.fit(scores, y, self.regression)
            self._cache[split] = (layers, scores, _finite_or_none(loss), acc)
        return self._cache[split]

    def _record(self):
        _, _, train_loss, train_acc = self._evaluate("train")
        _, _, test_loss, test_acc = self._evaluate("test")
        self.history.append([self.epoch, train_loss, test_loss, train_acc, test_acc])
        self.curve.append([self.epoch, _significant(train_loss), _significant(test_loss)])
        if len(self.history) > HISTORY_LIMIT:  # epochs 0, 2k, 4k ... of stride k stay
            self.history, self.curve = self.history[::2], self.curve[::2]
            self.record_every *= 2

    def thinned_history(self):
        """[[epoch, train_loss, test_loss]] of at most HISTORY_POINTS records, evenly spaced
        (the first and the last always kept), the losses to CURVE_DIGITS significant digits."""
        rows = self.curve
        if len(rows) > HISTORY_POINTS:
            keep = np.unique(np.linspace(0, len(rows) - 1, HISTORY_POINTS).round().astype(int))
            rows = [rows[i] for i in keep]
        return list(rows)

    def frame(self):
        """The protocol's `frame` message for the net as it is now."""
        with np.errstate(all="ignore"):
            layers, scores, train_loss, train_acc = self._evaluate("train")
            _, test_scores, test_loss, test_acc = self._evaluate("test")
            grads = measure.grad_norms(self.model, self.train_f, self.train.y)
            weights, biases = measure.weights(self.model)
            output, units = measure.maps(self.model, self.setup["features"], self.regression)
            return {"type": "frame", "epoch": self.epoch, "step": self.step,
                    "train_loss": train_loss, "test_loss": test_loss,
                    "train_acc": train_acc, "test_acc": test_acc,
                    "history": self.thinned_history(),
                    "output": output, "units": units,
                    "weights": weights, "biases": biases,
                    "layers": measure.layer_stats(self.model, layers, grads),
                    "confusion": None if self.regression else measure.confusion(
                        test_scores, self.test.y, self.model.params[
                            f"b{self.model.num_layers}"].shape[0]),
                    "running": self.running}

    def save(self):
        """Write the run folder under runs_dir; returns the `saved` message."""
        from layerlab.playground.save import write_run  # the report's libraries load on demand

        path = write_run(self)
        return {"type": "saved", "path": str(path.resolve()),
                "report": str((path / "report.md").resolve())}


def _finite(value):
    return isinstance(value, int | float) and not isinstance(value, bool) and \
        math.isfinite(value)


def _significant(value):
    """A loss to CURVE_DIGITS significant digits (a shorter number in every frame's JSON)."""
    return None if value is None else float(f"{value:.{CURVE_DIGITS}g}")


def _finite_or_none(value):
    return float(value) if value is not None and math.isfinite(value) else None
