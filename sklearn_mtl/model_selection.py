"""Multi-task vs single-task comparison on identical cross-validation folds."""

import time
from dataclasses import dataclass, field

import numpy as np
from sklearn.base import clone, is_classifier
from sklearn.model_selection import check_cv
from sklearn.pipeline import Pipeline

from ._classifier import MultiTaskClassifier
from ._grouped import GroupedMultiTaskClassifier
from ._net import task_key
from ._targets import _as_label_array, _missing_mask, _observed_values, _split_columns
from .metrics import _final_step, task_scores

__all__ = ["MultiTaskComparison", "compare_single_task", "count_parameters", "plot_loss_curves"]

# metrics that need predict_proba, and those where lower is better
_PROBA_METRICS = {"log_loss", "roc_auc"}
_LOWER_IS_BETTER = {"log_loss"}


def _rows(data, index):
    return data.iloc[index] if hasattr(data, "iloc") else data[index]


def count_parameters(estimator):
    """Number of learned parameters of a fitted classifier, or None if unknown.

    Counts the network weights of :class:`~sklearn_mtl.MultiTaskClassifier`
    and scikit-learn's ``MLPClassifier``, the coefficients and intercepts of
    linear models, and sums over the sub-estimators of multi-output wrappers.
    Trees, forests and neighbours have no comparable count: None.

    Parameters
    ----------
    estimator : fitted estimator or Pipeline
        A Pipeline is measured by its final step.

    Returns
    -------
    n_parameters : int or None
    """
    model = _final_step(estimator)
    if isinstance(model, MultiTaskClassifier):
        return model.n_parameters_
    if hasattr(model, "coefs_") and hasattr(model, "intercepts_"):
        return int(sum(a.size for a in model.coefs_) + sum(a.size for a in model.intercepts_))
    if hasattr(model, "coef_"):
        intercept = np.asarray(getattr(model, "intercept_", 0.0))
        return int(np.asarray(model.coef_).size + intercept.size)
    if hasattr(model, "estimators_") and isinstance(model.estimators_, list):
        counts = [count_parameters(e) for e in model.estimators_]
        if counts and all(c is not None for c in counts):
            return int(sum(counts))
    return None


def _single_task_version(estimator, task_index, task_name):
    """The estimator's configuration for one task: static weights reset, per-task
    options sliced to that task."""
    model = clone(estimator)
    final = _final_step(model)
    if isinstance(final, GroupedMultiTaskClassifier):
        # one task is one group: the baseline is the model each group gets
        inner = final.estimator if final.estimator is not None else MultiTaskClassifier()
        single = _single_task_version(inner, task_index, task_name)
        if final is model:
            return single
        model.steps[-1] = (model.steps[-1][0], single)
        return model
    if not isinstance(final, MultiTaskClassifier):
        return model
    params = final.get_params(deep=False)
    updates = {"task_weights": None}
    if "weighting" in params:
        updates["weighting"] = "static"  # one task: nothing to balance
    class_weight = params.get("class_weight")
    if isinstance(class_weight, (list, tuple)):
        updates["class_weight"] = class_weight[task_index]
    elif isinstance(class_weight, dict):
        updates["class_weight"] = class_weight.get(task_name)
    final.set_params(**updates)
    return model


def _name(estimator):
    model = _final_step(estimator)
    name = type(model).__name__
    inner = getattr(model, "estimator", None) or getattr(model, "base_estimator", None)
    if inner is not None and not isinstance(inner, str):
        name += f"({type(_final_step(inner)).__name__})"
    return name


def _scores(model, X, Y, metric):
    """Per-task scores of a fitted model (one task when fitted on a 1-D y)."""
    if metric in _PROBA_METRICS:
        proba = model.predict_proba(X)
        classes = _final_step(model).classes_
        if isinstance(proba, np.ndarray):  # fitted on a 1-D y
            proba, classes = [proba], [classes]
        return task_scores(Y, proba, metric=metric, classes=classes)
    return task_scores(Y, model.predict(X), metric=metric)


@dataclass
class MultiTaskComparison:
    """Per-task cross-validated scores of a multi-task model and its single-task
    baselines, measured on the same folds.

    Attributes
    ----------
    task_names : list of str
    metric : str
        Name of the score; ``greater_is_better`` tells its direction.
    multitask_name, single_task_name : str
        What was compared.
    multitask_scores, single_task_scores : ndarray of shape (n_folds, n_tasks)
        Score of each fold and task (NaN where a test fold has no label).
    multitask_fit_time, single_task_fit_time : float
        Seconds spent fitting, all folds (and for the baseline all tasks) together.
    multitask_n_parameters, single_task_n_parameters : int or None
        Parameters of one fitted multi-task model, and of the single-task models
        of all tasks together (from the last fold); None when not countable.
    folds : list of (train, test) index arrays
        The folds both sides were trained and scored on.
    greater_is_better : bool
    """

    task_names: list
    metric: str
    multitask_name: str
    single_task_name: str
    multitask_scores: np.ndarray
    single_task_scores: np.ndarray
    multitask_fit_time: float
    single_task_fit_time: float
    multitask_n_parameters: object
    single_task_n_parameters: object
    folds: list = field(repr=False)
    greater_is_better: bool = True

    @property
    def delta_m(self):
        """Multi-task gain Δm in percent (Maninis et al., 2019).

        ``Δm = 100 / T * sum_t (-1)**l_t * (M_mt,t - M_st,t) / M_st,t`` where
        ``M`` is the mean score over folds and ``l_t = 1`` when lower is better:
        positive means the multi-task model is better on average.
        """
        mt = np.nanmean(self.multitask_scores, axis=0)
        st = np.nanmean(self.single_task_scores, axis=0)
        sign = 1.0 if self.greater_is_better else -1.0
        return float(100.0 * np.mean(sign * (mt - st) / st))

    def to_frame(self):
        """The per-task table as a pandas DataFrame (needs pandas)."""
        import pandas as pd

        rows = {}
        for t, name in enumerate(self.task_names):
            rows[name] = {
                "multitask_mean": np.nanmean(self.multitask_scores[:, t]),
                "multitask_std": np.nanstd(self.multitask_scores[:, t]),
                "single_task_mean": np.nanmean(self.single_task_scores[:, t]),
                "single_task_std": np.nanstd(self.single_task_scores[:, t]),
            }
        frame = pd.DataFrame.from_dict(rows, orient="index")
        frame.index.name = "task"
        frame["difference"] = frame["multitask_mean"] - frame["single_task_mean"]
        return frame

    def __str__(self):
        width = max(12, max(len(n) for n in self.task_names) + 2)
        columns = [self.multitask_name, self.single_task_name]
        col = max(20, max(len(c) for c in columns) + 2)
        lines = [
            f"{self.metric} per task, mean ± std over {len(self.folds)} folds "
            "(same folds for both)",
            f"{'task':<{width}}" + "".join(f"{c:>{col}}" for c in columns),
        ]
        for t, name in enumerate(self.task_names):
            cells = [
                f"{np.nanmean(s[:, t]):.3f} ± {np.nanstd(s[:, t]):.3f}"
                for s in (self.multitask_scores, self.single_task_scores)
            ]
            lines.append(f"{name:<{width}}" + "".join(f"{c:>{col}}" for c in cells))
        mean_cells = [
            f"{np.nanmean(s):.3f}" for s in (self.multitask_scores, self.single_task_scores)
        ]
        lines.append(f"{'mean':<{width}}" + "".join(f"{c:>{col}}" for c in mean_cells))
        times = [f"{t:.1f} s" for t in (self.multitask_fit_time, self.single_task_fit_time)]
        lines.append(f"{'fit time':<{width}}" + "".join(f"{c:>{col}}" for c in times))
        params = [
            "n/a" if p is None else f"{p:,}"
            for p in (self.multitask_n_parameters, self.single_task_n_parameters)
        ]
        lines.append(f"{'parameters':<{width}}" + "".join(f"{c:>{col}}" for c in params))
        lines.append(f"Δm = {self.delta_m:+.2f} % (multi-task gain over single-task)")
        return "\n".join(lines)

    def _repr_pretty_(self, printer, cycle):  # IPython / Jupyter
        printer.text(str(self))

    def plot(self, ax=None):
        """Grouped bars of the mean score per task with std error bars.

        Parameters
        ----------
        ax : matplotlib Axes, optional
            Where to draw; a new figure when None.

        Returns
        -------
        ax : matplotlib Axes
        """
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(1.6 * len(self.task_names) + 2, 3.5))
        x = np.arange(len(self.task_names))
        width = 0.38
        for offset, scores, label in (
            (-width / 2, self.multitask_scores, self.multitask_name),
            (width / 2, self.single_task_scores, self.single_task_name),
        ):
            ax.bar(
                x + offset, np.nanmean(scores, axis=0), width, yerr=np.nanstd(scores, axis=0),
                capsize=3, label=label,
            )
        ax.set_xticks(x, self.task_names)
        ax.set_ylabel(self.metric)
        ax.set_title(f"Δm = {self.delta_m:+.2f} %")
        ax.legend(loc="lower right")
        return ax


def _behind_preprocessing(estimator, baseline):
    """``baseline`` behind the preprocessing steps of a Pipeline ``estimator``."""
    if not isinstance(estimator, Pipeline) or isinstance(baseline, Pipeline):
        return baseline
    steps = [(name, clone(step)) for name, step in estimator.steps[:-1]]
    if not steps:
        return baseline
    return Pipeline(steps + [(type(baseline).__name__.lower(), baseline)])


def compare_single_task(
    estimator, X, Y, *, baseline=None, cv=5, metric="accuracy", task_names=None
):
    """Cross-validate a multi-task model against one single-task model per task.

    Both sides are trained and scored on the very same folds. For every fold,
    the multi-task ``estimator`` is fitted on all tasks at once; for every task,
    the single-task baseline is fitted on that task's column alone, using only
    the training rows where that task's label is observed. Each task is scored
    on the test rows where its label is observed.

    Parameters
    ----------
    estimator : classifier or Pipeline
        The multi-task model, e.g. :class:`~sklearn_mtl.MultiTaskClassifier` or a
        Pipeline ending in one; any multi-output classifier works.
    X : array-like or sparse matrix of shape (n_samples, n_features)
    Y : array-like or DataFrame of shape (n_samples, n_tasks)
        Labels; NaN, None or pandas' NA where unknown.
    baseline : classifier, optional
        Single-task model cloned for each task. By default, the same
        configuration as ``estimator`` trained on one task: its task weights
        (and weighting strategy) reset, its per-task options such as
        ``class_weight`` sliced to that task. When ``estimator`` is a Pipeline
        and ``baseline`` is not, the baseline is put behind (clones of) the
        estimator's own preprocessing steps, so that both sides see the same
        features; pass a Pipeline as ``baseline`` to choose its preprocessing.
    cv : int, cross-validation generator or iterable, default=5
        As in scikit-learn; an int means ``KFold(cv)`` (not stratified: a
        multi-task ``Y`` has no single class to stratify on).
    metric : str or callable, default="accuracy"
        Per-task score, as :func:`sklearn_mtl.metrics.task_scores` takes it.
    task_names : list of str, optional
        Names of the tasks; by default a DataFrame ``Y``'s columns, else
        ``task_0``, ``task_1``, ...

    Returns
    -------
    result : MultiTaskComparison
        Prints as a table; ``to_frame()``, ``plot()`` and ``delta_m``.

    References
    ----------
    Maninis, K.-K., Radosavovic, I. & Kokkinos, I. (2019). Attentive
    single-tasking of multiple tasks. CVPR.

    Examples
    --------
    >>> from sklearn_mtl import MultiTaskClassifier
    >>> from sklearn_mtl.datasets import load_digits_multitask
    >>> from sklearn_mtl.model_selection import compare_single_task
    >>> X, Y = load_digits_multitask(tasks=["parity", "ge5"])
    >>> clf = MultiTaskClassifier(hidden_layer_sizes=(32,), max_iter=5, random_state=0)
    >>> result = compare_single_task(clf, X[:300] / 16, Y[:300], cv=3)
    >>> result.multitask_scores.shape
    (3, 2)
    >>> list(result.to_frame().index)
    ['parity', 'ge5']
    """
    if not is_classifier(_final_step(estimator)):
        raise TypeError(f"estimator must be a classifier; got {type(estimator).__name__}.")
    columns, names, one_dim = _split_columns(Y)
    if one_dim:
        raise ValueError(
            "compare_single_task needs a multi-task Y of shape (n_samples, n_tasks); "
            "got a 1-D y."
        )
    if task_names is not None:
        if len(task_names) != len(columns):
            raise ValueError(
                f"task_names has {len(task_names)} names but Y has {len(columns)} tasks."
            )
        names = task_names
    if names is None:
        names = [f"task_{t}" for t in range(len(columns))]
    names = [str(n) for n in names]
    observed = np.column_stack([~_missing_mask(c) for c in columns])
    # each task's observed labels, normalised as the estimator would (no None/NA)
    labels = [
        _as_label_array(_observed_values(c, ~observed[:, t]), names[t])
        for t, c in enumerate(columns)
    ]
    splitter = check_cv(cv, classifier=False)
    try:
        folds = [(np.asarray(tr), np.asarray(te)) for tr, te in splitter.split(X, None)]
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"cv={cv!r} cannot split without a target ({exc}). A multi-task Y has no "
            "single class to stratify on: use KFold, ShuffleSplit or a list of "
            "(train, test) index pairs."
        ) from None
    n_folds, n_tasks = len(folds), len(columns)
    if baseline is not None:
        baseline = _behind_preprocessing(estimator, baseline)

    mt_scores = np.full((n_folds, n_tasks), np.nan)
    st_scores = np.full((n_folds, n_tasks), np.nan)
    mt_time = st_time = 0.0
    mt_params = None
    st_params = [None] * n_tasks
    for f, (train, test) in enumerate(folds):
        model = clone(estimator)
        start = time.perf_counter()
        model.fit(_rows(X, train), _rows(Y, train))
        mt_time += time.perf_counter() - start
        mt_scores[f] = _scores(model, _rows(X, test), _rows(Y, test), metric)
        mt_params = count_parameters(model)

        for t in range(n_tasks):
            train_t = train[observed[train, t]]
            test_t = test[observed[test, t]]
            if len(test_t) == 0 or len(train_t) == 0:
                continue
            positions = np.flatnonzero(observed[:, t])  # row -> index into labels[t]
            y_train = labels[t][np.searchsorted(positions, train_t)]
            y_test = labels[t][np.searchsorted(positions, test_t)]
            single = (
                _single_task_version(estimator, t, names[t])
                if baseline is None
                else clone(baseline)
            )
            start = time.perf_counter()
            single.fit(_rows(X, train_t), y_train)
            st_time += time.perf_counter() - start
            st_scores[f, t] = _scores(single, _rows(X, test_t), y_test, metric)[0]
            st_params[t] = count_parameters(single)

    single_name = (
        f"single-task {_name(estimator)}" if baseline is None else f"single-task {_name(baseline)}"
    )
    return MultiTaskComparison(
        task_names=names,
        metric=metric if isinstance(metric, str) else getattr(metric, "__name__", "score"),
        multitask_name=_name(estimator),
        single_task_name=single_name,
        multitask_scores=mt_scores,
        single_task_scores=st_scores,
        multitask_fit_time=mt_time,
        single_task_fit_time=st_time,
        multitask_n_parameters=mt_params,
        single_task_n_parameters=(
            int(sum(st_params)) if all(p is not None for p in st_params) else None
        ),
        folds=folds,
        greater_is_better=metric not in _LOWER_IS_BETTER,
    )


def plot_loss_curves(estimator, ax=None):
    """Per-task training (and validation) loss per epoch of a fitted model.

    Parameters
    ----------
    estimator : fitted MultiTaskClassifier or Pipeline ending in one
    ax : matplotlib Axes, optional

    Returns
    -------
    ax : matplotlib Axes
    """
    import matplotlib.pyplot as plt

    model = _final_step(estimator)
    if not isinstance(model, MultiTaskClassifier):
        raise TypeError("plot_loss_curves needs a fitted MultiTaskClassifier.")
    history = model.history_
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    epochs = history[:, "epoch"]
    for name in model.task_names_:
        (line,) = ax.plot(epochs, history[:, task_key("train", name)], label=f"{name} (train)")
        if task_key("valid", name) in history[-1]:
            ax.plot(
                epochs, history[:, task_key("valid", name)], linestyle="--",
                color=line.get_color(), label=f"{name} (valid)",
            )
    ax.set_xlabel("epoch")
    ax.set_ylabel("cross-entropy")
    ax.set_yscale("log")
    ax.legend(fontsize="small", ncol=2)
    return ax
