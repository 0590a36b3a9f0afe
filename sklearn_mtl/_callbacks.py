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
from skorch.callbacks import Callback


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
