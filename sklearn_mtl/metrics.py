"""Per-task metrics and scorers that work with any multi-output classifier.

Every function here takes targets with one column per task, in which NaN, None
or pandas' NA marks a missing label: each task is scored on the rows labelled
for it, so a partly labelled ``Y`` is scored the way
:class:`~sklearn_mtl.MultiTaskClassifier` is trained. Predictions may come
from :class:`~sklearn_mtl.MultiTaskClassifier` or from any scikit-learn
multi-output classifier (``MultiOutputClassifier``, ``ClassifierChain``,
random forests, nearest neighbours, ...).

The scorers (:func:`make_task_scorer`, :func:`task_scoring`) plug into the
``scoring=`` argument of ``cross_validate``, ``cross_val_score`` and
``GridSearchCV``.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    classification_report,
    cohen_kappa_score,
    f1_score,
    log_loss,
    matthews_corrcoef,
    precision_score,
    recall_score,
    roc_auc_score,
)

from ._targets import _as_label_array, _missing_mask, _observed_values, _split_columns

__all__ = [
    "classification_report_per_task",
    "hamming_loss",
    "make_task_scorer",
    "mean_task_accuracy",
    "subset_accuracy",
    "task_scores",
    "task_scoring",
]


# ------------------------------------------------------------- metric registry
def _log_loss(y_true, proba, classes, **kwargs):
    kwargs.setdefault("labels", classes)
    return log_loss(y_true, proba, **kwargs)


def _roc_auc(y_true, proba, classes, **kwargs):
    if len(classes) == 2:
        # the score of the positive class, which is classes[1] as in scikit-learn
        return roc_auc_score(np.asarray(y_true == classes[1]), proba[:, 1], **kwargs)
    kwargs.setdefault("multi_class", "ovr")
    kwargs.setdefault("labels", classes)
    return roc_auc_score(y_true, proba, **kwargs)


@dataclass(frozen=True)
class _Metric:
    """How to compute one metric of one task.

    ``func(y_true, y_pred, **kwargs)`` for label metrics;
    ``func(y_true, proba, classes, **kwargs)`` for the named probability
    metrics, where ``proba`` has one column per entry of ``classes``.
    """

    name: str
    func: object
    kwargs: dict = field(default_factory=dict)
    needs_proba: bool = False
    greater_is_better: bool = True
    # a user's callable gets the probabilities alone, without ``classes``
    takes_classes: bool = True


_METRICS = {
    m.name: m
    for m in [
        _Metric("accuracy", accuracy_score),
        _Metric("balanced_accuracy", balanced_accuracy_score),
        _Metric("f1", f1_score, {"average": "binary"}),
        _Metric("f1_macro", f1_score, {"average": "macro"}),
        _Metric("f1_micro", f1_score, {"average": "micro"}),
        _Metric("f1_weighted", f1_score, {"average": "weighted"}),
        _Metric("precision", precision_score, {"average": "binary"}),
        _Metric("precision_macro", precision_score, {"average": "macro"}),
        _Metric("precision_weighted", precision_score, {"average": "weighted"}),
        _Metric("recall", recall_score, {"average": "binary"}),
        _Metric("recall_macro", recall_score, {"average": "macro"}),
        _Metric("recall_weighted", recall_score, {"average": "weighted"}),
        _Metric("matthews_corrcoef", matthews_corrcoef),
        _Metric("cohen_kappa", cohen_kappa_score),
        _Metric("log_loss", _log_loss, needs_proba=True, greater_is_better=False),
        _Metric("roc_auc", _roc_auc, needs_proba=True),
    ]
}

_AGGREGATES = {"mean": np.mean, "min": np.min, "median": np.median}


def _resolve_metric(metric, *, needs_proba=None, greater_is_better=None):
    """A :class:`_Metric` from a name or a callable."""
    if isinstance(metric, str):
        if metric not in _METRICS:
            raise ValueError(
                f"Unknown metric {metric!r}; use a callable metric(y_true, y_pred) or one "
                f"of {sorted(_METRICS)}."
            )
        return _METRICS[metric]
    if not callable(metric):
        raise TypeError(
            f"metric must be a metric name or a callable metric(y_true, y_pred); got {metric!r}."
        )
    return _Metric(
        _callable_name(metric),
        metric,
        needs_proba=bool(needs_proba),
        greater_is_better=True if greater_is_better is None else bool(greater_is_better),
        takes_classes=False,
    )


def _callable_name(func):
    name = getattr(func, "__name__", None) or type(func).__name__
    return name.removesuffix("_score")


# ------------------------------------------------------------- target handling
def _true_columns(Y_true):
    """(columns, task names, one_dimensional, n_samples) of the true labels."""
    columns, names, one_dimensional = _split_columns(Y_true)
    if names is None:
        names = np.array([f"task_{t}" for t in range(len(columns))], dtype=object)
    return columns, [str(n) for n in names], one_dimensional, len(columns[0])


def _observed_labels(col, mask, task, what="Y_true"):
    """Observed labels of one column, normalised so that 1.0 == 1 and 'a' == 'a'."""
    try:
        return _as_label_array(_observed_values(col, mask), task)
    except ValueError as exc:
        raise ValueError(f"{what}: {exc}") from None


def _is_str(values):
    return values.dtype.kind == "U"


def _check_comparable(y_true, y_pred, task):
    if y_true.size and y_pred.size and _is_str(y_true) != _is_str(y_pred):
        raise ValueError(
            f"Task {task!r} compares labels {y_true[:3].tolist()} of Y_true with "
            f"{y_pred[:3].tolist()}: strings never equal numbers or booleans; give both "
            "with labels of the same type."
        )


def _check_sample_weight(sample_weight, n_samples):
    if sample_weight is None:
        return None
    sample_weight = np.asarray(sample_weight, dtype=np.float64)
    if sample_weight.shape != (n_samples,):
        raise ValueError(
            f"sample_weight has shape {sample_weight.shape}; expected ({n_samples},), one "
            "weight per row."
        )
    if not np.all(np.isfinite(sample_weight)) or np.any(sample_weight < 0):
        raise ValueError("sample_weight must be finite and non-negative.")
    return sample_weight


def _is_proba_list(Y_pred):
    """Whether ``Y_pred`` is a list of per-task probability arrays (``predict_proba``)."""
    return (
        isinstance(Y_pred, (list, tuple))
        and len(Y_pred) > 0
        and all(getattr(p, "ndim", None) == 2 for p in Y_pred)
    )


def _label_columns(Y_pred, n_tasks, n_samples):
    """Columns of predicted labels, checked against the shape of ``Y_true``."""
    if _is_proba_list(Y_pred):
        raise ValueError(
            "Y_pred is a list of probability arrays (predict_proba); this metric needs "
            "predicted labels: pass estimator.predict(X)."
        )
    columns, _, _ = _split_columns(Y_pred)
    if len(columns) != n_tasks:
        raise ValueError(
            f"Y_pred has {len(columns)} task(s) but Y_true has {n_tasks}; give one column of "
            "predicted labels per task."
        )
    if len(columns[0]) != n_samples:
        raise ValueError(f"Y_pred has {len(columns[0])} rows but Y_true has {n_samples}.")
    return columns


def _task_labels(true_col, pred_col, task):
    """Observed rows of one task: (mask of observed rows, y_true, y_pred)."""
    observed = ~_missing_mask(true_col)
    y_true = _observed_labels(true_col, ~observed, task)
    if np.any(_missing_mask(pred_col)[observed]):
        raise ValueError(
            f"Y_pred has missing predictions for task {task!r} on rows whose true label is "
            "known; every such row needs a prediction."
        )
    y_pred = _observed_labels(pred_col, ~observed, task, what="Y_pred")
    _check_comparable(y_true, y_pred, task)
    return observed, y_true, y_pred


def _as_class_list(classes, n_tasks):
    if classes is None:
        return [None] * n_tasks
    if isinstance(classes, np.ndarray) and classes.dtype != object:
        classes = [classes] if classes.ndim == 1 else list(classes)
    elif all(np.ndim(c) == 0 for c in classes):
        classes = [classes]  # the labels of a single task
    classes = list(classes)
    if len(classes) != n_tasks:
        raise ValueError(
            f"classes has {len(classes)} entries but Y_true has {n_tasks} task(s); give the "
            "labels of each task, e.g. estimator.classes_."
        )
    return classes


def _proba_columns(Y_pred, n_tasks, one_dimensional, n_samples, classes):
    """Per-task (probabilities of shape (n, n_classes_t), classes_t or None).

    Accepts a list of per-task arrays (``predict_proba`` of most multi-output
    classifiers), a single array for one task, or an (n, n_tasks) array of the
    probabilities of each task's positive class (``ClassifierChain``).
    """
    classes = _as_class_list(classes, n_tasks)
    if _is_proba_list(Y_pred):
        probas = [np.asarray(p, dtype=np.float64) for p in Y_pred]
        if len(probas) != n_tasks:
            raise ValueError(
                f"Y_pred holds probabilities for {len(probas)} task(s) but Y_true has {n_tasks}."
            )
    else:
        values = np.asarray(Y_pred)
        if values.dtype.kind != "f" or values.ndim not in (1, 2):
            raise ValueError(
                "This metric needs predicted probabilities: a list of (n_samples, "
                "n_classes) arrays, or an (n_samples, n_tasks) array of positive-class "
                f"probabilities; got an array of dtype {values.dtype} and shape "
                f"{values.shape}. Pass estimator.predict_proba(X)."
            )
        values = values.astype(np.float64)
        if values.ndim == 2 and n_tasks == 1 and one_dimensional and values.shape[1] > 1:
            probas = [values]  # predict_proba of a single-output classifier
        else:
            positive = values.reshape(-1, 1) if values.ndim == 1 else values
            if positive.shape[1] != n_tasks:
                raise ValueError(
                    f"Y_pred has {positive.shape[1]} column(s) of positive-class "
                    f"probabilities but Y_true has {n_tasks} task(s)."
                )
            if np.any((positive < 0) | (positive > 1)):
                raise ValueError(
                    "Y_pred must hold probabilities in [0, 1]; for predicted labels use a "
                    "label metric such as 'accuracy'."
                )
            probas = [np.column_stack([1 - p, p]) for p in positive.T]
            classes = [np.array([0, 1]) if c is None else c for c in classes]
    for t, p in enumerate(probas):
        if p.shape[0] != n_samples:
            raise ValueError(
                f"Y_pred has {p.shape[0]} rows for task {t} but Y_true has {n_samples}."
            )
    return probas, classes


def _task_classes(classes_t, y_true, n_columns, task):
    """The labels of the probability columns of one task, normalised like y_true."""
    if classes_t is None:
        # the columns of predict_proba follow the sorted labels seen in fit
        classes_t = np.unique(y_true)
        if len(classes_t) != n_columns:
            raise ValueError(
                f"Task {task!r}: the probabilities have {n_columns} columns but Y_true holds "
                f"{len(classes_t)} distinct labels; pass classes=estimator.classes_ so that "
                "each column can be matched to its label."
            )
        return classes_t
    classes_t = _observed_labels(
        np.asarray(classes_t), np.zeros(len(classes_t), bool), task, what="classes"
    )
    if len(classes_t) != n_columns:
        raise ValueError(
            f"Task {task!r}: classes has {len(classes_t)} labels but the probabilities have "
            f"{n_columns} columns."
        )
    _check_comparable(y_true, classes_t, task)
    return classes_t


def _score_tasks(
    Y_true, Y_pred, metric, *, tasks=None, classes=None, sample_weight=None, metric_kwargs=None
):
    """Scores of the given task indices (all by default) as an array."""
    columns, names, one_dimensional, n_samples = _true_columns(Y_true)
    n_tasks = len(columns)
    sample_weight = _check_sample_weight(sample_weight, n_samples)
    kwargs = {**metric.kwargs, **(metric_kwargs or {})}
    if metric.needs_proba:
        predictions, classes = _proba_columns(Y_pred, n_tasks, one_dimensional, n_samples, classes)
    else:
        predictions = _label_columns(Y_pred, n_tasks, n_samples)
    tasks = range(n_tasks) if tasks is None else tasks
    scores = np.full(len(tasks), np.nan)
    for i, t in enumerate(tasks):
        observed = ~_missing_mask(columns[t])
        if not np.any(observed):
            continue  # nothing to score: NaN
        weights = {} if sample_weight is None else {"sample_weight": sample_weight[observed]}
        if metric.needs_proba:
            y_true = _observed_labels(columns[t], ~observed, names[t])
            proba = predictions[t][observed]
            if metric.takes_classes:
                classes_t = _task_classes(classes[t], y_true, proba.shape[1], names[t])
                score = metric.func(y_true, proba, classes_t, **kwargs, **weights)
            else:
                score = metric.func(y_true, proba, **kwargs, **weights)
        else:
            _, y_true, y_pred = _task_labels(columns[t], predictions[t], names[t])
            score = metric.func(y_true, y_pred, **kwargs, **weights)
        scores[i] = float(score)
    return scores


# ------------------------------------------------------------------ functions
def task_scores(
    Y_true, Y_pred, *, metric="accuracy", classes=None, sample_weight=None, **metric_kwargs
):
    """One score per task, each on the rows whose label for that task is known.

    Parameters
    ----------
    Y_true : array-like or DataFrame of shape (n_samples, n_tasks) or (n_samples,)
        True labels, one column per task; NaN, None or pandas' NA where a label
        is missing. Those rows are left out of that task's score only.
    Y_pred : array-like, DataFrame or list of ndarray
        Predictions in the form the metric needs:

        - label metrics: predicted labels of shape (n_samples, n_tasks), as
          ``predict`` returns (1-D for one task);
        - probability metrics (``"log_loss"``, ``"roc_auc"``): a list with one
          ``(n_samples, n_classes_t)`` array per task, as ``predict_proba`` of
          :class:`~sklearn_mtl.MultiTaskClassifier`, ``MultiOutputClassifier``,
          random forests or nearest neighbours returns; or an
          ``(n_samples, n_tasks)`` float array of the probability of each
          task's positive class, as ``ClassifierChain.predict_proba`` returns.
    metric : str or callable, default="accuracy"
        ``"accuracy"``, ``"balanced_accuracy"``, ``"f1"`` (binary),
        ``"f1_macro"``, ``"f1_micro"``, ``"f1_weighted"``, ``"precision"``,
        ``"precision_macro"``, ``"precision_weighted"``, ``"recall"``,
        ``"recall_macro"``, ``"recall_weighted"``, ``"matthews_corrcoef"``,
        ``"cohen_kappa"``, ``"log_loss"`` or ``"roc_auc"`` (one-vs-rest macro
        average for a multiclass task); or a callable
        ``metric(y_true, y_pred, **metric_kwargs)`` such as any scikit-learn
        metric. A callable receives each task's probability array when
        ``Y_pred`` is a list of probability arrays, else its labels.
    classes : list of array-like, default=None
        Labels of the probability columns of each task, e.g. the estimator's
        ``classes_``. By default the sorted labels observed in ``Y_true``
        (which must then number as many as the columns), or ``[0, 1]`` for
        positive-class probabilities. Unused by label metrics.
    sample_weight : array-like of shape (n_samples,), default=None
        Weight of each row.
    **metric_kwargs
        Passed to the metric, e.g. ``pos_label="yes"`` for ``"f1"``.

    Returns
    -------
    scores : ndarray of shape (n_tasks,)
        The score of each task (the loss for ``"log_loss"``: lower is
        better); NaN for a task with no known label.

    See Also
    --------
    make_task_scorer : The same scores as a scorer for ``cross_validate``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mtl.metrics import task_scores
    >>> Y_true = np.array([[0, "a"], [1, None], [1, "b"], [np.nan, "b"]], dtype=object)
    >>> Y_pred = np.array([[0, "a"], [0, "a"], [1, "a"], [1, "b"]], dtype=object)
    >>> task_scores(Y_true, Y_pred)
    array([0.66666667, 0.66666667])
    >>> probas = [np.array([[0.9, 0.1], [0.5, 0.5], [0.2, 0.8], [0.5, 0.5]])]
    >>> task_scores(Y_true[:, :1], probas, metric="roc_auc", classes=[[0, 1]])
    array([1.])
    """
    metric = _resolve_metric(metric, needs_proba=_is_proba_list(Y_pred))
    return _score_tasks(
        Y_true,
        Y_pred,
        metric,
        classes=classes,
        sample_weight=sample_weight,
        metric_kwargs=metric_kwargs,
    )


def _entrywise_right(Y_true, Y_pred):
    """(right, observed) boolean matrices of shape (n_samples, n_tasks)."""
    columns, names, _, n_samples = _true_columns(Y_true)
    predictions = _label_columns(Y_pred, len(columns), n_samples)
    right = np.zeros((n_samples, len(columns)), dtype=bool)
    observed = np.zeros_like(right)
    for t, (true_col, pred_col) in enumerate(zip(columns, predictions)):
        mask, y_true, y_pred = _task_labels(true_col, pred_col, names[t])
        observed[:, t] = mask
        right[mask, t] = np.asarray(y_true == y_pred, dtype=bool)
    if not observed.any():
        raise ValueError("Y_true has no known label: there is nothing to score.")
    return right, observed


def mean_task_accuracy(Y_true, Y_pred, *, sample_weight=None):
    """Mean over tasks of each task's accuracy on its labelled rows.

    Tasks with no known label are left out of the mean.

    Parameters
    ----------
    Y_true : array-like or DataFrame of shape (n_samples, n_tasks)
        True labels; NaN, None or pandas' NA where missing.
    Y_pred : array-like or DataFrame of shape (n_samples, n_tasks)
        Predicted labels.
    sample_weight : array-like of shape (n_samples,), default=None
        Weight of each row.

    Returns
    -------
    score : float

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mtl.metrics import mean_task_accuracy
    >>> Y_true = np.array([[0, 1], [1, np.nan], [1, 0]])
    >>> Y_pred = np.array([[0, 1], [0, 1], [1, 1]])
    >>> float(mean_task_accuracy(Y_true, Y_pred))  # (2/3 + 1/2) / 2
    0.5833333333333333
    """
    scores = task_scores(Y_true, Y_pred, metric="accuracy", sample_weight=sample_weight)
    if np.all(np.isnan(scores)):
        raise ValueError("Y_true has no known label: there is nothing to score.")
    return float(np.nanmean(scores))


def subset_accuracy(Y_true, Y_pred, *, sample_weight=None):
    """Share of rows whose every known label is predicted right.

    Rows with no known label are left out. The same measure as
    :meth:`MultiTaskClassifier.score <sklearn_mtl.MultiTaskClassifier.score>`
    and, on fully labelled targets, as ``MultiOutputClassifier.score``.

    Parameters
    ----------
    Y_true : array-like or DataFrame of shape (n_samples, n_tasks)
        True labels; NaN, None or pandas' NA where missing.
    Y_pred : array-like or DataFrame of shape (n_samples, n_tasks)
        Predicted labels.
    sample_weight : array-like of shape (n_samples,), default=None
        Weight of each row.

    Returns
    -------
    score : float

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mtl.metrics import subset_accuracy
    >>> Y_true = np.array([[0, 1], [1, np.nan], [1, 0]])
    >>> Y_pred = np.array([[0, 1], [1, 0], [1, 1]])
    >>> float(subset_accuracy(Y_true, Y_pred))
    0.6666666666666666
    """
    right, observed = _entrywise_right(Y_true, Y_pred)
    sample_weight = _check_sample_weight(sample_weight, len(right))
    rows = observed.any(axis=1)
    row_right = np.all(right | ~observed, axis=1)[rows]
    weights = None if sample_weight is None else sample_weight[rows]
    if weights is not None and weights.sum() <= 0:
        raise ValueError("sample_weight is 0 on every row with a known label.")
    return float(np.average(row_right, weights=weights))


def hamming_loss(Y_true, Y_pred, *, sample_weight=None):
    """Share of wrong labels among the known entries of ``Y_true``.

    Parameters
    ----------
    Y_true : array-like or DataFrame of shape (n_samples, n_tasks)
        True labels; NaN, None or pandas' NA where missing.
    Y_pred : array-like or DataFrame of shape (n_samples, n_tasks)
        Predicted labels.
    sample_weight : array-like of shape (n_samples,), default=None
        Weight of each row; a known entry weighs its row's weight.

    Returns
    -------
    loss : float
        Between 0 (every known label right) and 1; lower is better.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mtl.metrics import hamming_loss
    >>> Y_true = np.array([[0, 1], [1, np.nan], [1, 0]])
    >>> Y_pred = np.array([[0, 1], [0, 0], [1, 1]])
    >>> float(hamming_loss(Y_true, Y_pred))  # 2 wrong of 5 known
    0.4
    """
    right, observed = _entrywise_right(Y_true, Y_pred)
    sample_weight = _check_sample_weight(sample_weight, len(right))
    weights = np.ones(len(right)) if sample_weight is None else sample_weight
    entry_weights = observed * weights[:, None]
    total = entry_weights.sum()
    if total <= 0:
        raise ValueError("sample_weight is 0 on every row with a known label.")
    return float((entry_weights * ~right).sum() / total)


def classification_report_per_task(Y_true, Y_pred, *, task_names=None, **kwargs):
    """scikit-learn's ``classification_report`` for each task, on its labelled rows.

    Parameters
    ----------
    Y_true : array-like or DataFrame of shape (n_samples, n_tasks)
        True labels; NaN, None or pandas' NA where missing.
    Y_pred : array-like or DataFrame of shape (n_samples, n_tasks)
        Predicted labels.
    task_names : list of str, default=None
        Heading of each task's block when ``Y_true`` is not a DataFrame
        (whose column names are used); default ``task_0``, ``task_1``, ...
    **kwargs
        Passed to :func:`sklearn.metrics.classification_report` for every
        task (``digits``, ``zero_division``, ...). ``sample_weight`` is
        restricted to each task's labelled rows; with ``output_dict=True`` the
        result is a dict ``{task_name: report dict}``.

    Returns
    -------
    report : str or dict
        One block per task, headed by the task name and the number of
        labelled rows.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mtl.metrics import classification_report_per_task
    >>> Y_true = np.array([[0, "a"], [1, None], [1, "b"]], dtype=object)
    >>> Y_pred = np.array([[0, "a"], [0, "a"], [1, "b"]], dtype=object)
    >>> report = classification_report_per_task(Y_true, Y_pred, task_names=["bit", "letter"])
    >>> print(report.splitlines()[0])
    bit (3 of 3 rows labelled)
    """
    columns, names, _, n_samples = _true_columns(Y_true)
    if task_names is not None and not (hasattr(Y_true, "columns") and hasattr(Y_true, "iloc")):
        names = [str(n) for n in task_names]
        if len(names) != len(columns):
            raise ValueError(
                f"task_names has {len(names)} entries but Y_true has {len(columns)} task(s)."
            )
    predictions = _label_columns(Y_pred, len(columns), n_samples)
    sample_weight = _check_sample_weight(kwargs.pop("sample_weight", None), n_samples)
    output_dict = kwargs.get("output_dict", False)
    reports = {}
    for t, (true_col, pred_col) in enumerate(zip(columns, predictions)):
        observed, y_true, y_pred = _task_labels(true_col, pred_col, names[t])
        if not np.any(observed):
            reports[names[t]] = None
            continue
        weights = {} if sample_weight is None else {"sample_weight": sample_weight[observed]}
        reports[names[t]] = classification_report(y_true, y_pred, **kwargs, **weights)
    if output_dict:
        return reports
    blocks = []
    for t, (name, report) in enumerate(reports.items()):
        n_labelled = int(np.sum(~_missing_mask(columns[t])))
        heading = f"{name} ({n_labelled} of {n_samples} rows labelled)"
        body = "no labelled row: nothing to report\n" if report is None else report
        blocks.append(f"{heading}\n{'=' * len(heading)}\n\n{body}")
    return "\n\n".join(blocks)


# --------------------------------------------------------------------- scorers
def _final_step(estimator):
    """The last step of a Pipeline (recursively), else the estimator itself."""
    while hasattr(estimator, "steps"):
        estimator = estimator.steps[-1][1]
    return estimator


def _estimator_classes(estimator):
    final = _final_step(estimator)
    # None (e.g. a ClassifierChain of an older scikit-learn) means the defaults
    classes = getattr(final, "classes_", None)
    if isinstance(classes, np.ndarray) and classes.dtype != object:
        return [classes]  # single-output classifier
    return classes


class _TaskScorer:
    """Callable ``scorer(estimator, X, y) -> float`` built by :func:`make_task_scorer`."""

    def __init__(self, metric, task, aggregate, metric_kwargs, position=None):
        self.metric = metric
        self.task = task
        self.aggregate = aggregate
        self.metric_kwargs = metric_kwargs
        # index of a named task when neither y nor the estimator knows names
        self._position = position

    def __call__(self, estimator, X, y_true, sample_weight=None):
        columns, names, _, _ = _true_columns(y_true)
        tasks = None if self.task is None else [self._task_index(estimator, y_true, columns)]
        if self.metric.needs_proba:
            Y_pred = estimator.predict_proba(X)
            classes = _estimator_classes(estimator)
        else:
            Y_pred, classes = estimator.predict(X), None
        scores = _score_tasks(
            y_true,
            Y_pred,
            self.metric,
            tasks=tasks,
            classes=classes,
            sample_weight=sample_weight,
            metric_kwargs=self.metric_kwargs,
        )
        sign = 1.0 if self.metric.greater_is_better else -1.0
        scores = sign * scores
        if self.task is not None:
            return float(scores[0])
        scores = scores[~np.isnan(scores)]
        if scores.size == 0:
            return float("nan")
        return float(_AGGREGATES[self.aggregate](scores))

    def _task_index(self, estimator, y_true, columns):
        n_tasks = len(columns)
        task = self.task
        if isinstance(task, int):
            if not -n_tasks <= task < n_tasks:
                raise ValueError(f"task={task} is out of range: y has {n_tasks} task(s).")
            return task % n_tasks
        final = _final_step(estimator)
        if hasattr(y_true, "columns") and hasattr(y_true, "iloc"):
            names, source = [str(c) for c in y_true.columns], "the columns of y"
        elif self._position is not None:
            # task_scoring declared the column order of y
            if self._position >= n_tasks:
                raise ValueError(
                    f"Task {task!r} is column {self._position} in the tasks given to "
                    f"task_scoring, but y has {n_tasks} task(s)."
                )
            return self._position
        elif getattr(final, "task_names_", None) is not None:
            names = [str(n) for n in final.task_names_]
            source = f"the task_names_ of {type(final).__name__}"
        else:
            raise ValueError(
                f"Cannot find task {task!r}: y is not a DataFrame and {type(final).__name__} "
                "has no task_names_. Pass y as a DataFrame with named columns, or give the "
                "task by its index."
            )
        if task not in names:
            raise ValueError(f"Unknown task {task!r}; the tasks in {source} are {names}.")
        if len(names) != n_tasks:
            raise ValueError(
                f"{source} name {len(names)} task(s) but y has {n_tasks}; give the task by "
                "its index."
            )
        return names.index(task)

    def __repr__(self):
        if self.metric.takes_classes:  # a named metric
            args = [repr(self.metric.name)]
        else:
            args = [getattr(self.metric.func, "__name__", repr(self.metric.func))]
        if self.task is not None:
            args.append(f"task={self.task!r}")
        elif self.aggregate != "mean":
            args.append(f"aggregate={self.aggregate!r}")
        if not self.metric.takes_classes:
            if self.metric.needs_proba:
                args.append("response_method='predict_proba'")
            if not self.metric.greater_is_better:
                args.append("greater_is_better=False")
        args += [f"{k}={v!r}" for k, v in self.metric_kwargs.items()]
        return f"make_task_scorer({', '.join(args)})"


def _check_task(task):
    if task is None or isinstance(task, str):
        return task
    if isinstance(task, (int, np.integer)) and not isinstance(task, (bool, np.bool_)):
        return int(task)
    raise TypeError(f"task must be None, a task index or a task name; got {task!r}.")


def make_task_scorer(
    metric="accuracy",
    *,
    task=None,
    aggregate="mean",
    response_method=None,
    greater_is_better=None,
    **metric_kwargs,
):
    """A scorer of one task, or of all tasks aggregated, for ``scoring=``.

    The scorer is a callable ``scorer(estimator, X, y, sample_weight=None)``
    returning a float where greater is better, as ``cross_validate``,
    ``cross_val_score`` and ``GridSearchCV`` expect; a loss such as
    ``"log_loss"`` is returned negated, like scikit-learn's
    ``"neg_log_loss"``. Rows whose label is missing in ``y`` are left out of
    their task's score (see :func:`task_scores`).

    Parameters
    ----------
    metric : str or callable, default="accuracy"
        A metric name accepted by :func:`task_scores`, or a callable
        ``metric(y_true, y_pred, **metric_kwargs)``. Probability metrics
        call ``predict_proba`` and read the estimator's ``classes_`` (its last
        step's for a Pipeline); label metrics call ``predict``.
    task : None, int or str, default=None
        The task to score: its index, or its name looked up in the columns of
        a DataFrame ``y``, else in the estimator's ``task_names_`` (its last
        step's for a Pipeline). ``None`` aggregates all tasks.
    aggregate : {"mean", "min", "median"}, default="mean"
        How the scores of all tasks are combined when ``task`` is None. Tasks
        without a known label in ``y`` are left out. Applied to the signed
        scores, so ``"min"`` is always the worst task.
    response_method : {"predict", "predict_proba"}, default=None
        For a callable ``metric`` only: which method's output it receives
        (default ``"predict"``); with ``"predict_proba"`` it receives each
        task's ``(n_samples, n_classes_t)`` probabilities.
    greater_is_better : bool, default=None
        For a callable ``metric`` only: ``False`` for a loss, which is then
        negated (default ``True``).
    **metric_kwargs
        Passed to the metric on every call.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y, sample_weight=None) -> float``.

    See Also
    --------
    task_scoring : A dict of scorers, one per task plus their mean.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.dummy import DummyClassifier
    >>> from sklearn_mtl.metrics import make_task_scorer
    >>> X = np.zeros((4, 1))
    >>> Y = np.array([[0, 1], [0, 0], [1, 0], [0, 0]])
    >>> clf = DummyClassifier(strategy="most_frequent").fit(X, Y)  # predicts [0, 0]
    >>> scorer = make_task_scorer("accuracy", task=1)
    >>> scorer
    make_task_scorer('accuracy', task=1)
    >>> scorer(clf, X, Y)
    0.75
    >>> make_task_scorer("accuracy", aggregate="min")(clf, X, Y)
    0.75
    """
    if aggregate not in _AGGREGATES:
        raise ValueError(f"aggregate must be one of {sorted(_AGGREGATES)}; got {aggregate!r}.")
    if isinstance(metric, str) and (response_method, greater_is_better) != (None, None):
        raise ValueError(
            f"response_method and greater_is_better are for a callable metric; {metric!r} "
            "sets them itself."
        )
    if response_method not in (None, "predict", "predict_proba"):
        raise ValueError(
            f"response_method must be 'predict' or 'predict_proba'; got {response_method!r}."
        )
    resolved = _resolve_metric(
        metric,
        needs_proba=response_method == "predict_proba",
        greater_is_better=greater_is_better,
    )
    return _TaskScorer(resolved, _check_task(task), aggregate, metric_kwargs)


def _key_part(name):
    """A task or metric name made safe as part of a cv_results_ key."""
    return re.sub(r"\W+", "_", str(name)).strip("_") or "task"


def task_scoring(tasks, metric="accuracy", **metric_kwargs):
    """A ``scoring=`` dict: one scorer per task and the mean over tasks.

    Parameters
    ----------
    tasks : list of str, DataFrame or int
        The task names (in column order), a DataFrame ``Y`` whose columns are
        the tasks, or the number of tasks (named ``task_0``, ``task_1``, ...
        and scored by index).
    metric : str or callable, default="accuracy"
        As in :func:`make_task_scorer`.
    **metric_kwargs
        Passed to :func:`make_task_scorer`.

    Returns
    -------
    scoring : dict
        ``{"<metric>_<task>": scorer, ..., "mean": scorer}``. Keys are made of
        letters, digits and ``_``. A named task is found by name in the
        columns of a DataFrame ``y``, else by its position in ``tasks``.
        Losses are negated, as in :func:`make_task_scorer`.

    Examples
    --------
    >>> from sklearn_mtl.metrics import task_scoring
    >>> scoring = task_scoring(["digit", "parity"])
    >>> list(scoring)
    ['accuracy_digit', 'accuracy_parity', 'mean']
    >>> scoring["accuracy_parity"]
    make_task_scorer('accuracy', task='parity')
    """
    if hasattr(tasks, "columns") and hasattr(tasks, "iloc"):
        tasks = [str(c) for c in tasks.columns]
    if isinstance(tasks, (int, np.integer)) and not isinstance(tasks, (bool, np.bool_)):
        if tasks < 1:
            raise ValueError(f"tasks must be at least 1; got {tasks}.")
        names, by_index = [f"task_{t}" for t in range(tasks)], True
    elif isinstance(tasks, str) or isinstance(tasks, Mapping):
        raise TypeError(
            f"tasks must be a list of task names, a DataFrame or a number of tasks; got {tasks!r}."
        )
    else:
        names, by_index = [str(t) for t in tasks], False
        if not names:
            raise ValueError("tasks is empty: give at least one task.")
        if len(set(names)) != len(names):
            raise ValueError(f"tasks has duplicate names {names}.")
    mean = make_task_scorer(metric, **metric_kwargs)
    prefix = _key_part(mean.metric.name)
    scoring = {}
    for t, name in enumerate(names):
        key = base = f"{prefix}_{_key_part(name)}"
        suffix = 2
        while key in scoring or key == "mean":
            key, suffix = f"{base}_{suffix}", suffix + 1
        scoring[key] = _TaskScorer(
            mean.metric,
            t if by_index else name,
            "mean",
            mean.metric_kwargs,
            position=None if by_index else t,
        )
    scoring["mean"] = mean
    return scoring
