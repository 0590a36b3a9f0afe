"""Callbacks: the package's own training behaviour and the user's ``callbacks``.

skorch drives every optional behaviour of a fit through callbacks notified at
fixed points of its loop (``on_train_begin``, ``on_epoch_begin``,
``on_batch_begin``, ``on_grad_computed``, ``on_batch_end``, ``on_epoch_end``,
``on_train_end``); :class:`~sklearn_mtl._net.MultiTaskNet` keeps every one of
them. The estimator assembles the net's list: its own callbacks first, then
the user's, in the order given.
"""

import time

import numpy as np
import torch
from skorch.callbacks import Callback

# History key of an epoch's mean look-ahead affinity matrix (a nested list).
AFFINITY_KEY = "task_affinity"

# A mean training loss above the floor and this many times its start has diverged.
_DIVERGENCE_FACTOR = 10.0
_DIVERGENCE_FLOOR = 50.0


def callback_name(callback):
    """skorch's default name of a callback: its class name."""
    return callback.__name__ if isinstance(callback, type) else type(callback).__name__


def named_callbacks(callbacks):
    """``(name, callback)`` pairs of a ``callbacks`` parameter.

    An item is a callback (named after its class, with ``_1``, ``_2``, ...
    appended to repeated class names, as skorch does) or a ``(name,
    callback)`` pair. Raises ``ValueError`` for anything else, or for a name
    given twice.
    """
    pairs, counts = [], {}
    for i, item in enumerate(callbacks or ()):
        if isinstance(item, tuple):
            if len(item) != 2 or not isinstance(item[0], str):
                raise ValueError(
                    f"callbacks[{i}] = {item!r}: a pair must be (name, callback) with a "
                    "str name."
                )
            pairs.append(item)
            continue
        if not (isinstance(item, Callback) or (isinstance(item, type)
                                                and issubclass(item, Callback))):
            raise ValueError(
                f"callbacks[{i}] = {item!r} is not a skorch callback (an instance of "
                "skorch.callbacks.Callback or a (name, callback) pair)."
            )
        name = callback_name(item)
        counts[name] = counts.get(name, 0) + 1
        pairs.append((name if counts[name] == 1 else f"{name}_{counts[name] - 1}", item))
    names = [name for name, _ in pairs]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(
            f"callbacks has the name(s) {repeated} more than once: give each callback "
            "its own name with a (name, callback) pair."
        )
    return pairs


class NoSharedParametersError(ValueError):
    """Task affinity asked of a network whose tasks share no trainable
    parameter (so that a caller, such as ``GroupedMultiTaskClassifier``, can
    say what to change in its own terms)."""


class StopTraining(Exception):
    """Raised by a callback to end training early.

    Not ``KeyboardInterrupt`` (skorch's own idiom): skorch swallows that one,
    so a user's Ctrl-C and a planned stop would look the same.
    """


class StopOnPlateau(Callback):
    """Stop when a monitored loss has not improved by ``tol`` for
    ``patience`` epochs; optionally restore the best epoch's weights.

    The saved weights are dropped at the end of training so that a pickled
    net holds no device-bound tensor outside skorch's own CUDA-aware state.
    """

    def __init__(self, monitor, patience, tol, restore_best):
        self.monitor = monitor
        self.patience = patience
        self.tol = tol
        self.restore_best = restore_best

    def initialize(self):
        self.best_score_ = np.inf
        self.best_epoch_ = 0
        self.wait_ = 0
        self.best_state_ = None
        self.stopped_ = False  # whether the last fit ran out of patience
        return self

    def on_train_begin(self, net, **kwargs):
        # warm_start continues from the current model; start counting afresh
        self.initialize()

    def on_epoch_end(self, net, **kwargs):
        score = net.history[-1, self.monitor]
        improved = score < self.best_score_ - self.tol
        net.history.record(self.monitor + "_best", bool(score < self.best_score_))
        if score < self.best_score_:
            self.best_score_ = score
            self.best_epoch_ = len(net.history)
            if self.restore_best:
                self.best_state_ = {
                    k: v.detach().clone() for k, v in net.module_.state_dict().items()
                }
        self.wait_ = 0 if improved else self.wait_ + 1
        if self.wait_ >= self.patience:
            self.stopped_ = True
            raise StopTraining

    def on_train_end(self, net, **kwargs):
        if self.restore_best and self.best_state_ is not None:
            net.module_.load_state_dict(self.best_state_)
        self.best_state_ = None


# A progress bar appears once an epoch has run this many seconds: short fits
# stay as quiet as skorch's table alone.
_PROGRESS_DELAY = 2.0
# Without tqdm, a line is printed at most this often (seconds).
_PROGRESS_INTERVAL = 10.0


class FitProgress(Callback):
    """``verbose=1``: a progress bar over each epoch's training batches.

    Drawn with tqdm when it is installed (on ``stderr``, cleared at the end of
    the epoch), else a line ``epoch e: batch i/n`` on ``stdout`` at most every
    ``interval`` seconds; either only once the epoch has run ``delay``
    seconds, so that short fits show skorch's table of epochs alone.
    """

    def __init__(self, delay=None, interval=None):
        self.delay = delay
        self.interval = interval

    def initialize(self):
        self.bar_ = None
        return self

    def on_epoch_begin(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        delay = _PROGRESS_DELAY if self.delay is None else self.delay
        self.total_ = len(net.get_iterator(dataset_train, training=True))
        self.done_ = 0
        self.epoch_ = len(net.history)
        self.start_ = self.shown_ = time.monotonic()
        try:
            from tqdm.auto import tqdm
        except ImportError:
            self.bar_ = None
            return
        self.bar_ = tqdm(total=self.total_, leave=False, delay=delay, unit="batch",
                         desc=f"epoch {self.epoch_}")

    def on_batch_end(self, net, training=None, **kwargs):
        if not training:
            return
        self.done_ += 1
        if self.bar_ is not None:
            self.bar_.update()
            return
        now = time.monotonic()
        delay = _PROGRESS_DELAY if self.delay is None else self.delay
        interval = _PROGRESS_INTERVAL if self.interval is None else self.interval
        if now - self.start_ >= delay and (now - self.shown_ >= interval or self.shown_
                                           == self.start_):
            self.shown_ = now
            print(f"epoch {self.epoch_}: batch {self.done_}/{self.total_}", flush=True)

    def on_epoch_end(self, net, **kwargs):
        self._close()

    def on_train_end(self, net, **kwargs):
        self._close()

    def _close(self):
        if getattr(self, "bar_", None) is not None:
            self.bar_.close()
        self.bar_ = None

    def __getstate__(self):
        state = self.__dict__.copy()
        state["bar_"] = None  # a terminal handle: not picklable, not needed
        return state



class DivergenceCheck(Callback):
    """Fail the fit, with advice, when the training loss is not finite or has
    grown far beyond where it started.

    Beyond ``_DIVERGENCE_FACTOR`` times both the loss at the initial weights
    (the first batch's, ``net.initial_loss_``) and a uniform guess's
    (``log(n_classes)``), and above ``_DIVERGENCE_FLOOR``, the steps are too
    large: training that works lowers the loss, even from the huge first
    losses of unscaled features. Checked from the first epoch on, so that a
    loss that explodes within it is caught there.
    """

    def on_epoch_end(self, net, **kwargs):
        history = net.history
        mean_loss = history[-1, "train_loss"]
        if not np.isfinite(mean_loss):
            raise ValueError(
                f"Training diverged at epoch {len(history)}: the training loss is "
                f"{mean_loss}. Lower learning_rate_init, or scale X (for example "
                "with StandardScaler)."
            )
        uniform = float(np.mean(np.log(np.maximum(net.module_.split_sizes, 2))))
        first = getattr(net, "initial_loss_", None)
        first = mean_loss if first is None else first
        start = max(first, uniform)
        if mean_loss > _DIVERGENCE_FLOOR and mean_loss > _DIVERGENCE_FACTOR * start:
            raise ValueError(
                f"Training diverged at epoch {len(history)}: the mean training loss "
                f"rose to {mean_loss:.4g}, from {first:.4g} at the initial weights "
                f"({uniform:.3g} for a uniform guess). Lower learning_rate_init (now "
                f"{net.optimizer_.param_groups[0]['lr']:g}), or scale X (for example "
                "with StandardScaler)."
            )


class AffinityProbe(Callback):
    """Look-ahead task affinity (:mod:`sklearn_mtl._affinity`), measured every
    ``every`` optimizer steps.

    The probe owns the schedule and the results; the engine calls
    :meth:`due` at each training step and hands a measured matrix to
    :meth:`record` (the measurement needs the step's graph of task losses,
    which no skorch hook carries). Each epoch's mean matrix goes into the
    history (``task_affinity``); ``sum_`` and ``count_`` add up every measured
    step of the network's life (``warm_start`` fits add to them), and
    ``affinity_`` is their mean.

    Parameters
    ----------
    every : int or None
        Measure every this many optimizer steps; None: not at all (the totals
        are kept).
    """

    def __init__(self, every):
        self.every = every

    def initialize(self):
        # the totals outlive a fit (warm_start adds to them): made once
        if not hasattr(self, "sum_"):
            self.sum_ = self.count_ = None
        self.epoch_ = None
        self.step_ = 0
        return self

    def on_train_begin(self, net, **kwargs):
        self.epoch_ = None
        if self.every is None:
            return
        if not any(p.requires_grad for p in net.module_.shared_parameters()):
            raise NoSharedParametersError(
                f"affinity_every={self.every!r} measures how a step on the "
                "shared parameters for one task changes the other tasks' losses, but "
                "this network has no trainable shared parameters (no shared hidden "
                "layer, trunk or shared expert). Add hidden_layer_sizes or a trunk, "
                "or set affinity_every=None."
            )
        n_tasks = len(net.task_names)
        if self.sum_ is None or self.sum_.shape != (n_tasks, n_tasks):
            self.sum_ = np.zeros((n_tasks, n_tasks))
            self.count_ = np.zeros((n_tasks, n_tasks), dtype=np.int64)
        zeros = torch.zeros((n_tasks, n_tasks), dtype=torch.float64,
                            device=torch.device(net.device))
        self.epoch_ = [zeros, zeros.clone()]  # sum, count: read once per epoch
        self.step_ = 0

    def due(self):
        """Whether to measure at this training step (counts the step)."""
        if self.epoch_ is None:
            return False
        due = self.step_ % self.every == 0
        self.step_ += 1
        return due

    def record(self, Z):
        """Add one step's matrix ``Z`` (NaN where unmeasured) to the epoch's sums."""
        total, count = self.epoch_
        seen = torch.isfinite(Z)
        total += torch.where(seen, Z, torch.zeros_like(Z)).double()
        count += seen.double()

    def on_epoch_end(self, net, **kwargs):
        """Record the epoch's mean matrix in the history (NaN where no step was
        measured) and add the epoch's sums to the totals."""
        if self.epoch_ is None:
            return
        total, count = (t.cpu().numpy() for t in self.epoch_)
        self.sum_ += total
        self.count_ += count.astype(np.int64)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(count > 0, total / np.maximum(count, 1), np.nan)
        net.history.record(AFFINITY_KEY, mean.tolist())
        self.epoch_[0].zero_()
        self.epoch_[1].zero_()

    def on_train_end(self, net, **kwargs):
        self.epoch_ = None

    @property
    def affinity_(self):
        """The mean affinity over every measured step; None before any."""
        if self.sum_ is None:
            return None
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.count_ > 0, self.sum_ / np.maximum(self.count_, 1), np.nan)

    def __getstate__(self):
        state = self.__dict__.copy()
        state["epoch_"] = None  # device tensors, only during training
        return state
