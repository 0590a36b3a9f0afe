"""GroupedMultiTaskClassifier: one multi-task network per group of tasks."""

import numbers
from dataclasses import replace

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context, clone
from sklearn.utils import get_tags
from sklearn.utils._available_if import available_if
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from ._callbacks import NoSharedParametersError
from ._classifier import MultiTaskClassifier
from ._targets import _split_columns, default_task_names, encode_with
from .metrics import subset_accuracy


def _final_step(estimator):
    steps = getattr(estimator, "steps", None)
    return steps[-1][1] if steps else estimator


def _columns_of(y, index):
    """The columns ``index`` of a 2-D target, as a DataFrame when ``y`` is one."""
    if hasattr(y, "iloc") and hasattr(y, "columns"):
        return y.iloc[:, list(index)]
    arr = y if isinstance(y, np.ndarray) else (
        np.asarray(y, dtype=object) if isinstance(y, (list, tuple)) else np.asarray(y))
    return arr[:, list(index)]


def resolve_groups(groups, task_names):
    """Task indices of each group; a clear error for anything but a partition.

    ``groups`` holds task names (str) or positions (int); every task must be
    in exactly one group.
    """
    names = [str(n) for n in task_names]
    n_tasks = len(names)
    position = {name: t for t, name in enumerate(names)}
    if isinstance(groups, (str, bytes)) or not hasattr(groups, "__iter__"):
        raise ValueError(
            f"task_groups must be 'auto' or a list of groups, each a list of task names or "
            f"indices; got {groups!r}."
        )
    resolved, owner = [], {}
    for g, group in enumerate(groups):
        if isinstance(group, (str, bytes, numbers.Integral)) or not hasattr(group, "__iter__"):
            raise ValueError(
                f"task_groups[{g}] = {group!r} is not a list of tasks; write a group of one "
                f"task as [{group!r}]."
            )
        members = []
        for item in group:
            if isinstance(item, numbers.Integral) and not isinstance(item, bool):
                t = int(item)
                if not 0 <= t < n_tasks:
                    raise ValueError(
                        f"task_groups[{g}] names task index {t}, but Y has {n_tasks} task(s) "
                        f"{names}."
                    )
            elif isinstance(item, str):
                if item not in position:
                    raise ValueError(
                        f"task_groups[{g}] names unknown task {item!r}; the tasks are {names}."
                    )
                t = position[item]
            else:
                raise ValueError(
                    f"task_groups[{g}] holds {item!r}: a task is given by its name (str) or "
                    "its index (int)."
                )
            if t in owner:
                raise ValueError(
                    f"Task {names[t]!r} is in task_groups[{owner[t]}] and task_groups[{g}]: every "
                    "task must be in exactly one group."
                )
            owner[t] = g
            members.append(t)
        if not members:
            raise ValueError(f"task_groups[{g}] is empty: every group needs at least one task.")
        resolved.append(members)
    missing = [names[t] for t in range(n_tasks) if t not in owner]
    if missing:
        raise ValueError(
            f"Task(s) {missing} are in no group: every task must be in exactly one group "
            "(a group of one, [name], trains it alone)."
        )
    return resolved


def _groups_are_given(estimator):
    if isinstance(estimator.task_groups, str):
        raise AttributeError(
            "GroupedMultiTaskClassifier has partial_fit only with task_groups given as a "
            "list: 'auto' chooses the groups with a fit on all the data (e.g. take the "
            "task_groups_ of a model fitted on a sample)."
        )
    return True


class GroupedMultiTaskClassifier(ClassifierMixin, BaseEstimator):
    """One multi-task network per group of tasks, used as one classifier.

    Fits one clone of ``estimator`` per group of tasks, on that group's columns
    of ``Y`` (a group of one task is a single-task model, fitted on a
    one-column ``Y``), and answers like :class:`MultiTaskClassifier`:
    ``predict`` returns every task in the original column order,
    ``predict_proba`` a list in that order, ``score`` the same measure. With
    ``task_groups="auto"``, the groups are chosen from the training data: a clone of
    ``estimator`` is fitted on all tasks with ``affinity_every`` set, and
    :func:`~sklearn_mtl.grouping.suggest_task_groups` turns its measured task
    affinity into the groups (when that is one group of all tasks, the
    measuring fit is kept as its model: measuring does not change training).

    ``task_groups`` is an ordinary parameter, so that ``GridSearchCV`` can compare
    all tasks in one network (``[[0, 1, 2, 3]]``), one network per task
    (``[[0], [1], [2], [3]]``) and the suggested groups (``"auto"``) on the
    same folds.

    Parameters
    ----------
    estimator : estimator, default=None
        The multi-task classifier cloned for each group; None:
        ``MultiTaskClassifier()``. With ``task_groups="auto"``, a
        :class:`MultiTaskClassifier` or a Pipeline ending in one (it must
        measure affinity); with explicit groups, any classifier that accepts
        a 2-D ``Y``.
    task_groups : "auto" or list of list, default="auto"
        The groups, each a list of task names (DataFrame columns of ``Y``, or
        ``"task_0"``, ``"task_1"``, ...) or task indices (int positions);
        every task in exactly one group. Called ``groups`` before 0.4.
    groups : "deprecated"
        The name of ``task_groups`` before 0.4: ``fit`` raises an error saying
        so when it is set (``groups`` is the row groups of ``fit``, as in
        scikit-learn). Removed in 0.5.
    max_groups : int, default=None
        With ``task_groups="auto"``, the most groups allowed; None: no limit.
    affinity_every : int or "auto", default="auto"
        With ``task_groups="auto"``, how often the measuring fit records affinity
        (``MultiTaskClassifier``'s ``affinity_every``).

    Attributes
    ----------
    task_groups_ : list of list of str
        The groups used, as task names (also ``groups_``, its name before
        0.4).
    estimators_ : list of estimator
        The fitted clone of each group, in the order of ``groups_``.
    classes_ : list of ndarray, or ndarray
        Labels of each task, in the original order; a single array when
        fitted on a 1-D ``y``.
    n_tasks_ : int
        Number of tasks.
    task_names_ : ndarray of str
        Column names of a DataFrame ``Y``, else ``"task_0"``, ``"task_1"``, ...
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of str
        Names of the features, when ``X`` has string column names.
    task_affinity_ : ndarray of shape (n_tasks, n_tasks)
        With ``task_groups="auto"`` and several tasks: the measured affinity
        (``MultiTaskClassifier.task_affinity_``).
    grouping_ : TaskGrouping
        With ``task_groups="auto"`` and several tasks: the advice the groups come
        from, with their scores.

    See Also
    --------
    MultiTaskClassifier : All tasks in one network.
    sklearn_mtl.grouping.suggest_task_groups : Groups from an affinity matrix.

    References
    ----------
    Fifty, C., Amid, E., Zhao, Z., Yu, T., Anil, R. & Finn, C. (2021).
    Efficiently identifying task groupings for multi-task learning. NeurIPS.

    Examples
    --------
    >>> from sklearn_mtl import GroupedMultiTaskClassifier, MultiTaskClassifier
    >>> from sklearn_mtl.datasets import load_digits_multitask
    >>> X, Y = load_digits_multitask()
    >>> clf = GroupedMultiTaskClassifier(
    ...     MultiTaskClassifier(hidden_layer_sizes=(32,), max_iter=5, random_state=0),
    ...     task_groups=[["digit", "parity"], ["ge5", "loops"]],
    ... ).fit(X[:500] / 16, Y[:500])
    >>> clf.task_groups_
    [['digit', 'parity'], ['ge5', 'loops']]
    >>> clf.predict(X[500:503] / 16).shape
    (3, 4)
    """

    _parameter_constraints = {
        "estimator": [None, HasMethods(["fit", "predict"])],
        "task_groups": [StrOptions({"auto"}), list, tuple],
        "max_groups": [None, Interval(numbers.Integral, 1, None, closed="left")],
        "affinity_every": [Interval(numbers.Integral, 1, None, closed="left"),
                           StrOptions({"auto"})],
    }

    def __init__(self, estimator=None, *, task_groups="auto", max_groups=None,
                 affinity_every="auto", groups="deprecated"):
        self.estimator = estimator
        self.task_groups = task_groups
        self.max_groups = max_groups
        self.affinity_every = affinity_every
        self.groups = groups

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.classifier_tags.multi_label = True
        inner = MultiTaskClassifier() if self.estimator is None else self.estimator
        tags.input_tags.sparse = get_tags(inner).input_tags.sparse
        return tags

    def _estimator(self):
        return MultiTaskClassifier() if self.estimator is None else self.estimator

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, sample_weight=None, **fit_params):
        """Fit one clone of ``estimator`` per group of tasks.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Features, passed to every clone as given.
        y : array-like or DataFrame of shape (n_samples, n_tasks) or (n_samples,)
            Labels, one column per task; NaN, None or pandas' NA where missing.
        sample_weight : array-like of shape (n_samples,), default=None
            Passed to every clone's ``fit``.
        **fit_params : dict
            Further arguments of every clone's ``fit`` (e.g. ``groups`` of rows
            for a ``MultiTaskClassifier``'s early stopping).

        Returns
        -------
        self : GroupedMultiTaskClassifier
        """
        names, n_tasks, one_dim = self._check_input(X, y, reset=True)
        if sample_weight is not None:
            fit_params = {**fit_params, "sample_weight": sample_weight}
        self.task_names_ = np.asarray(names, dtype=object)
        self.n_tasks_ = n_tasks
        self._one_dimensional = one_dim
        for attribute in ("task_affinity_", "grouping_"):
            self.__dict__.pop(attribute, None)

        measured = None
        if isinstance(self.task_groups, str):  # "auto"
            index_groups, measured = self._auto_groups(X, y, names, one_dim, fit_params)
        else:
            index_groups = resolve_groups(self.task_groups, names)
        self._index_groups = index_groups
        self.task_groups_ = [[names[t] for t in group] for group in index_groups]
        self.groups_ = self.task_groups_  # the name before 0.4

        if one_dim:
            self.estimators_ = [clone(self._estimator()).fit(X, y, **fit_params)]
        elif measured is not None:
            self.estimators_ = [measured]
        else:
            self.estimators_ = [
                clone(self._estimator()).fit(X, _columns_of(y, group), **fit_params)
                for group in index_groups
            ]
        return self

    @available_if(_groups_are_given)
    @_fit_context(prefer_skip_nested_validation=False)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One pass over the rows given, for every group's model.

        Each group's clone of ``estimator`` gets its columns of ``y`` through
        its own ``partial_fit`` (see :meth:`MultiTaskClassifier.partial_fit`:
        one epoch a call, ``classes`` read on the first call). The groups must
        be given (``task_groups`` as a list): with "auto", which measures them
        with a fit, there is no ``partial_fit``. To continue a model fitted
        with "auto", ``set_params(task_groups=model.task_groups_)``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Features of this chunk.
        y : array-like or DataFrame of shape (n_samples, n_tasks) or (n_samples,)
            Labels of this chunk; NaN, None or pandas' NA where missing.
        classes : list of array-like, default=None
            Every label of every task, one array per task, in ``y``'s order
            (for a 1-D ``y``, one array). Only read on the first call.
        sample_weight : array-like of shape (n_samples,), default=None
            Passed to every group's ``partial_fit``.

        Returns
        -------
        self : GroupedMultiTaskClassifier
        """
        first = not hasattr(self, "estimators_")
        names, n_tasks, one_dim = self._check_input(X, y, reset=first)
        if first:
            estimator = self._estimator()
            if not hasattr(estimator, "partial_fit"):
                raise TypeError(
                    f"estimator {type(estimator).__name__} has no partial_fit; use a "
                    "MultiTaskClassifier (scale the inputs beforehand rather than in a "
                    "Pipeline)."
                )
            index_groups = [[0]] if one_dim else resolve_groups(self.task_groups, names)
            estimators = [clone(estimator) for _ in index_groups]
        else:
            if n_tasks != self.n_tasks_ or (
                    names != list(self.task_names_) and _split_columns(y)[1] is not None):
                raise ValueError(
                    f"y's tasks {names} are not the tasks of the first call "
                    f"{list(self.task_names_)}."
                )
            index_groups, estimators = self._index_groups, self.estimators_
            missing = [type(e).__name__ for e in estimators if not hasattr(e, "partial_fit")]
            if missing:
                raise TypeError(
                    f"The fitted group models ({missing[0]}) have no partial_fit."
                )
        if classes is None or one_dim:
            per_group = [classes] * len(index_groups)
        else:
            classes = list(classes)
            if len(classes) != n_tasks:
                raise ValueError(
                    f"classes has {len(classes)} entries but y has {n_tasks} task(s) "
                    f"({names}): give one array of labels per task."
                )
            per_group = [[classes[t] for t in group] for group in index_groups]
        targets = [y if one_dim else _columns_of(y, group) for group in index_groups]
        if not first:  # every group's labels checked before any group trains
            for group, estimator, target in zip(index_groups, estimators, targets):
                # the group model's tasks under the names of y's columns
                encoding = replace(_final_step(estimator)._encoding,
                                   task_names=np.array([names[t] for t in group], dtype=object))
                encode_with(target, encoding, known="in the classes of the first call")
        for estimator, target, group_classes in zip(estimators, targets, per_group):
            estimator.partial_fit(X, target, classes=group_classes, sample_weight=sample_weight)
        if first:
            self.task_names_ = np.asarray(names, dtype=object)
            self.n_tasks_ = n_tasks
            self._one_dimensional = one_dim
            self._index_groups = index_groups
            self.task_groups_ = [[names[t] for t in group] for group in index_groups]
            self.groups_ = self.task_groups_
            self.estimators_ = estimators
        return self

    def _check_input(self, X, y, reset):
        """``(task names, n_tasks, one_dimensional)`` of ``y``, after the checks
        that ``fit`` and ``partial_fit`` share (``X`` itself is each group
        model's to check)."""
        if not (isinstance(self.groups, str) and self.groups == "deprecated"):
            raise TypeError(
                "GroupedMultiTaskClassifier's `groups` was renamed `task_groups` in 0.4 "
                "(`groups` is the row groups of fit, as in scikit-learn): write "
                f"task_groups={self.groups!r}."
            )
        validate_data(self, X, skip_check_array=True, reset=reset)
        if y is None:
            raise ValueError(
                "GroupedMultiTaskClassifier requires y to be passed, but the target y "
                "is None."
            )
        columns, names, one_dim = _split_columns(y)
        n_tasks = len(columns)
        names = default_task_names(n_tasks, one_dim) if names is None else list(names)
        return names, n_tasks, one_dim

    def _auto_groups(self, X, y, names, one_dim, fit_params):
        """Groups from the measured affinity, and the measuring fit when it is
        the one group's model."""
        from .grouping import suggest_task_groups

        n_tasks = len(names)
        if n_tasks == 1:
            return [[0]], None
        model = clone(self._estimator())
        final = _final_step(model)
        if "affinity_every" not in final.get_params(deep=False):
            raise TypeError(
                f"task_groups='auto' measures task affinity with a MultiTaskClassifier, but "
                f"the estimator is a {type(final).__name__}; pass the groups "
                "explicitly, or a MultiTaskClassifier (or a Pipeline ending in one)."
            )
        final.set_params(affinity_every=self.affinity_every)
        try:
            model.fit(X, y, **fit_params)
        except NoSharedParametersError:
            raise ValueError(
                "task_groups='auto' chooses the groups from the task affinity measured "
                f"through the estimator's shared layers, but this {type(final).__name__} "
                "shares no trainable parameter between tasks (no shared hidden layer, "
                "trunk or shared expert), so there is no affinity to group its tasks "
                "by. Pass task_groups explicitly (e.g. one group of all tasks, "
                f"task_groups=[{names!r}]), or give the estimator shared layers (e.g. "
                "hidden_layer_sizes=(64,) instead of ())."
            ) from None
        grouping = suggest_task_groups(
            final.task_affinity_, max_groups=self.max_groups, task_names=names
        )
        self.task_affinity_ = final.task_affinity_
        self.grouping_ = grouping
        position = {name: t for t, name in enumerate(names)}
        index_groups = [[position[name] for name in group] for group in grouping.groups]
        keep = model if len(index_groups) == 1 else None
        return index_groups, keep

    # ----------------------------------------------------------- inference
    def _check_X(self, X):
        check_is_fitted(self)
        # scikit-learn's own message for a 1-D X ("Reshape your data"); the
        # groups' estimators get X as it came
        check_array(X, accept_sparse=True, dtype=None, ensure_all_finite=False)
        validate_data(self, X, skip_check_array=True, reset=False)
        return X

    def _per_task(self, X, method):
        """``method`` of every group's estimator, as one list of per-task outputs
        in the original task order."""
        X = self._check_X(X)
        outputs = [None] * self.n_tasks_
        for group, estimator in zip(self._index_groups, self.estimators_):
            result = getattr(estimator, method)(X)
            if method == "predict":
                result = np.asarray(result)
                parts = [result] if result.ndim == 1 else [result[:, k] for k in
                                                            range(result.shape[1])]
            else:
                parts = [result] if isinstance(result, np.ndarray) else list(result)
            for t, part in zip(group, parts):
                outputs[t] = part
        return outputs

    def predict(self, X):
        """Predict the label of every task, in the original column order.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input rows.

        Returns
        -------
        Y_pred : ndarray of shape (n_samples, n_tasks) or (n_samples,)
            Labels; 1-D when fitted on a 1-D ``y``. Object dtype when the
            groups' predictions have different dtypes.
        """
        columns = self._per_task(X, "predict")
        if self._one_dimensional:
            return columns[0]
        if len({c.dtype for c in columns}) == 1:
            return np.column_stack(columns)
        out = np.empty((len(columns[0]), len(columns)), dtype=object)
        for t, c in enumerate(columns):
            out[:, t] = c
        return out

    def predict_proba(self, X):
        """Class probabilities of each task, in the original task order.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input rows.

        Returns
        -------
        proba : list of ndarray of shape (n_samples, n_classes_t)
            One array per task, columns in the order of ``classes_[t]``; a
            single array when fitted on a 1-D ``y``.
        """
        outputs = self._per_task(X, "predict_proba")
        return outputs[0] if self._one_dimensional else outputs

    def predict_log_proba(self, X):
        """Log of the class probabilities of each task, in the original order.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input rows.

        Returns
        -------
        log_proba : list of ndarray of shape (n_samples, n_classes_t)
            One array per task; a single array when fitted on a 1-D ``y``.
        """
        outputs = self._per_task(X, "predict_log_proba")
        return outputs[0] if self._one_dimensional else outputs

    def score(self, X, y, sample_weight=None):
        """Subset accuracy, as :meth:`MultiTaskClassifier.score`: the share of
        rows whose every observed label is predicted right.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input rows.
        y : array-like of shape (n_samples,) or (n_samples, n_tasks)
            True labels; NaN, None or pandas' NA where unknown.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each row in the average.

        Returns
        -------
        score : float
        """
        Y_pred = self.predict(X)
        columns, _, _ = _split_columns(y)
        if len(columns) != self.n_tasks_:
            raise ValueError(
                f"y has {len(columns)} task(s) but the estimator was fitted with "
                f"{self.n_tasks_}."
            )
        return subset_accuracy(y, Y_pred, sample_weight=sample_weight)

    @property
    def classes_(self):
        """Labels of each task, in the original order (one array for a 1-D ``y``)."""
        check_is_fitted(self)
        classes = [None] * self.n_tasks_
        for group, estimator in zip(self._index_groups, self.estimators_):
            own = _final_step(estimator).classes_
            parts = [own] if isinstance(own, np.ndarray) else list(own)
            for t, part in zip(group, parts):
                classes[t] = part
        return classes[0] if self._one_dimensional else classes

    def __sklearn_is_fitted__(self):
        return hasattr(self, "estimators_")
