"""Callbacks for :class:`~sklearn_mtl.MultiTaskClassifier`'s ``callbacks``.

Any skorch callback works there (``LRScheduler``, ``Checkpoint``,
``GradientNormClipping``, ``TensorBoard``, ...); this module adds what skorch
cannot know about: the tasks.
"""

import numbers

import numpy as np
import torch
from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score, log_loss
from skorch.callbacks import Callback

from .modules._ensemble import combine_members

__all__ = ["TaskScoring"]


def _f1_macro(y_true, y_pred):
    return f1_score(y_true, y_pred, average="macro")


# name -> (metric, reads probabilities, lower is better)
_METRICS = {
    "accuracy": (accuracy_score, False, False),
    "balanced_accuracy": (balanced_accuracy_score, False, False),
    "f1_macro": (_f1_macro, False, False),
    "log_loss": (log_loss, True, True),
}


class TaskScoring(Callback):
    """Score one task at the end of every epoch and record it in the history.

    The per-task counterpart of skorch's ``EpochScoring``: it scores the
    predictions the epoch already made on the validation rows (or, with
    ``on_train``, on the training batches, with the weights of the moment),
    on the rows labelled for ``task`` only, without another forward pass.
    The score is recorded as ``<name>``, and whether it is the best so far as
    ``<name>_best`` (which ``Checkpoint(monitor=...)`` can watch).

    Parameters
    ----------
    task : str or int
        The task: its name (``task_names_``) or its position.
    scoring : str or callable, default="accuracy"
        The metric: ``"accuracy"``, ``"balanced_accuracy"``, ``"f1_macro"`` or
        ``"log_loss"`` (of the predicted probabilities). A callable is called
        as ``scoring(y_true, y_pred)`` with the task's class codes (positions
        in ``classes_[task]``) and the predicted codes.
    lower_is_better : bool, default=None
        Whether a lower score is better; None: from the metric's name (True
        for ``"log_loss"``), False for a callable.
    on_train : bool, default=False
        Score the training batches rather than the validation rows (which
        need ``early_stopping``; without a validation set nothing is
        recorded).
    name : str, default=None
        History key; None: ``"valid_<scoring>[<task>]"`` (``"train_..."``
        with ``on_train``).

    Examples
    --------
    >>> from sklearn_mtl import MultiTaskClassifier
    >>> from sklearn_mtl.callbacks import TaskScoring
    >>> from sklearn_mtl.datasets import load_digits_multitask
    >>> X, Y = load_digits_multitask()
    >>> clf = MultiTaskClassifier(hidden_layer_sizes=(32,), max_iter=3, random_state=0,
    ...                           callbacks=[TaskScoring("digit")]).fit(X / 16, Y)
    >>> len(clf.history_[:, "valid_accuracy[digit]"])
    3
    """

    def __init__(self, task, scoring="accuracy", lower_is_better=None, on_train=False,
                 name=None):
        self.task = task
        self.scoring = scoring
        self.lower_is_better = lower_is_better
        self.on_train = on_train
        self.name = name

    def _metric(self):
        if callable(self.scoring):
            lower = bool(self.lower_is_better)
            return self.scoring, False, lower
        if self.scoring not in _METRICS:
            raise ValueError(
                f"TaskScoring: scoring={self.scoring!r} is not one of {sorted(_METRICS)} "
                "or a callable metric(y_true, y_pred)."
            )
        metric, proba, lower = _METRICS[self.scoring]
        return metric, proba, lower if self.lower_is_better is None else self.lower_is_better

    def _key(self, net):
        if self.name is not None:
            return self.name
        metric = self.scoring if isinstance(self.scoring, str) else getattr(
            self.scoring, "__name__", "score")
        prefix = "train" if self.on_train else "valid"
        return f"{prefix}_{metric}[{net.task_names[self._position(net)]}]"

    def _position(self, net):
        names = list(net.task_names)
        if isinstance(self.task, numbers.Integral) and not isinstance(self.task, bool):
            if not 0 <= self.task < len(names):
                raise ValueError(
                    f"TaskScoring: task={self.task} is out of range; there are "
                    f"{len(names)} tasks {names}."
                )
            return int(self.task)
        if self.task not in names:
            raise ValueError(f"TaskScoring: unknown task {self.task!r}; the tasks are {names}.")
        return names.index(self.task)

    def initialize(self):
        self._metric()  # fails early on an unknown name
        self.best_score_ = None
        self._reset()
        return self

    def _reset(self):
        self.codes_, self.logits_ = [], []

    def on_epoch_begin(self, net, **kwargs):
        self._reset()

    def on_batch_end(self, net, batch=None, training=None, y_pred=None, **kwargs):
        if training != self.on_train:
            return
        t = self._position(net)
        sizes = net.module_.split_sizes
        k = net.module_.ensemble_size
        if training and k > 1:  # a row per member: the ensemble's prediction
            y_pred = combine_members(y_pred, k, sizes)
        start = sum(sizes[:t])
        self.logits_.append(y_pred[:, start:start + sizes[t]].detach().float())
        self.codes_.append(batch[1][0][:, t])

    def on_epoch_end(self, net, **kwargs):
        if not self.codes_:
            return
        codes = torch.cat(self.codes_).cpu().numpy()
        logits = torch.cat(self.logits_).cpu()
        self._reset()
        labelled = codes >= 0
        if not labelled.any():
            return
        metric, proba, lower = self._metric()
        if proba:
            p = torch.softmax(logits.double(), dim=1).numpy()[labelled]
            score = metric(codes[labelled], p, labels=np.arange(p.shape[1]))
        else:
            score = metric(codes[labelled], logits.argmax(1).numpy()[labelled])
        score = float(score)
        best = self.best_score_ is None or (
            score < self.best_score_ if lower else score > self.best_score_)
        if best:
            self.best_score_ = score
        key = self._key(net)
        net.history.record(key, score)
        net.history.record(key + "_best", bool(best))
