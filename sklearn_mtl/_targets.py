"""Per-task label encoding: the only module that knows about label types and
missing values.

Everything downstream of :func:`encode_targets` sees an ``int64`` matrix of
codes of shape ``(n_samples, n_tasks)`` in which ``-1`` marks a missing label.
"""

from dataclasses import dataclass, field

import numpy as np
from sklearn.utils.multiclass import type_of_target

MISSING = -1


@dataclass
class TaskEncoding:
    """What :func:`encode_targets` learned about the targets.

    Attributes
    ----------
    classes : list of ndarray
        Sorted labels observed for each task.
    task_names : ndarray of str
        One name per task.
    one_dimensional : bool
        Whether the targets were a 1-D ``y`` (one task, single-output API).
    """

    classes: list
    task_names: np.ndarray
    one_dimensional: bool
    n_classes: list = field(init=False)

    def __post_init__(self):
        self.n_classes = [len(c) for c in self.classes]


def _column_name(name):
    return str(name)


def default_task_names(n_tasks, one_dimensional):
    """Task names when ``Y`` has none: ``"y"`` for a 1-D ``y``, else
    ``"task_0"``, ``"task_1"``, ... (every estimator of the package)."""
    return ["y"] if one_dimensional else [f"task_{t}" for t in range(n_tasks)]


def _split_columns(Y):
    """Return (list of 1-D columns, task names or None, one_dimensional).

    Columns are returned as they came (pandas Series stay Series) so that
    missing values are detected with their own semantics.
    """
    if hasattr(Y, "columns") and hasattr(Y, "iloc"):  # pandas DataFrame
        if Y.shape[1] == 0:
            raise ValueError("Y has 0 columns: at least one task is required.")
        names = np.array([_column_name(c) for c in Y.columns], dtype=object)
        if len(set(names)) != len(names):
            raise ValueError(
                f"Y has duplicate column names {list(names)}; task names must be "
                "unique."
            )
        return [Y.iloc[:, j] for j in range(Y.shape[1])], names, False
    if hasattr(Y, "iloc") and hasattr(Y, "dtype"):  # pandas Series
        name = None if Y.name is None else np.array([_column_name(Y.name)], object)
        return [Y], name, True
    if hasattr(Y, "toarray"):
        raise TypeError(
            "Sparse Y is not supported; pass a dense array or DataFrame of labels."
        )
    if isinstance(Y, np.ndarray):
        arr = Y
    else:
        # object dtype so that numpy does not turn 1 into "1" next to a string
        arr = np.asarray(Y, dtype=object) if isinstance(Y, (list, tuple)) else np.asarray(Y)
    if arr.dtype.kind == "O" and arr.ndim == 1 and len(arr) and isinstance(
        arr[0], (list, tuple, np.ndarray)
    ):
        raise ValueError(
            "Y looks like a ragged list of rows; every row must have one label per "
            "task."
        )
    if arr.ndim == 1:
        return [arr], None, True
    if arr.ndim != 2:
        raise ValueError(
            f"Y must be 1-D (one task) or 2-D (n_samples, n_tasks); got shape "
            f"{arr.shape}."
        )
    if arr.shape[1] == 0:
        raise ValueError("Y has 0 columns: at least one task is required.")
    return [arr[:, j] for j in range(arr.shape[1])], None, False


def _missing_mask(col):
    """Boolean mask of missing entries (NaN, None, pd.NA, NaT) in a column."""
    if hasattr(col, "isna"):
        return np.asarray(col.isna(), dtype=bool)
    col = np.asarray(col)
    if col.dtype.kind == "f":
        return np.isnan(col)
    if col.dtype.kind == "O":
        try:
            import pandas as pd

            return np.asarray(pd.isna(col), dtype=bool)
        except ImportError:
            return np.fromiter(
                (v is None or (isinstance(v, float) and v != v) for v in col),
                dtype=bool,
                count=len(col),
            )
    return np.zeros(col.shape[0], dtype=bool)


def _observed_values(col, mask):
    """The observed labels of a column as a numpy array of their own kind."""
    if hasattr(col, "iloc"):
        observed = col[~mask]
        numpy_dtype = getattr(observed.dtype, "numpy_dtype", None)
        if numpy_dtype is not None and numpy_dtype.kind in "iub":
            # pandas nullable Int64 / boolean: keep the integer / bool kind
            return observed.to_numpy(dtype=numpy_dtype)
        values = observed.to_numpy()
        if values.dtype.kind == "O" and len(values):
            values = values.copy()
        return values
    return np.asarray(col)[~mask]


def _python_kind(value):
    """bool, int, float or str for numpy scalars and Python values alike."""
    if isinstance(value, (bool, np.bool_)):
        return bool
    if isinstance(value, (int, np.integer)):
        return int
    if isinstance(value, (float, np.floating)):
        return float
    if isinstance(value, (str, np.str_)):
        return str
    return type(value)


# Floats are exact integers up to 2**53: only then are labels cast to int64.
_EXACT_INT = 2.0**53


def _as_label_array(values, task):
    """Normalise observed labels and check that they are classification labels."""
    if values.dtype.kind == "O" and values.size:
        kinds = {_python_kind(v) for v in values}
        if kinds == {int, float}:
            kinds = {float}
        if len(kinds) > 1:
            names = sorted(k.__name__ for k in kinds)
            raise ValueError(
                f"Task {task!r} mixes label types {names}; the labels of one task "
                "must all be of one type (all str, all int, ...)."
            )
        kind = kinds.pop()
        if kind is bool:
            return values.astype(bool)
        if kind is str:
            return values.astype(str)
        if kind is int:
            try:
                return values.astype(np.int64)
            except OverflowError:
                return values
        if kind is float:
            values = values.astype(np.float64)
    if values.dtype.kind == "f":
        if not np.all(np.isfinite(values)):
            raise ValueError(
                f"Input y contains infinity in task {task!r}; labels must be "
                "finite (use NaN for a missing label)."
            )
        if (
            values.size
            and np.all(values == np.round(values))
            and np.all(np.abs(values) < _EXACT_INT)
        ):
            # Integer labels stored as floats because the column holds NaN.
            return values.astype(np.int64)
    target_type = type_of_target(values) if values.size else "unknown"
    if target_type == "continuous":
        raise ValueError(
            f"Unknown label type: continuous values in task {task!r}. "
            "MultiTaskClassifier predicts classes; round or bin the values, "
            "or use a regressor."
        )
    return values


def encode_targets(Y):
    """Encode targets into per-task integer codes.

    Parameters
    ----------
    Y : array-like of shape (n_samples,) or (n_samples, n_tasks)
        Labels; each column is one task. NaN, None and pandas' NA mark a
        missing label.

    Returns
    -------
    codes : ndarray of shape (n_samples, n_tasks), dtype int64
        Index of each label in its task's ``classes``; ``-1`` where missing.
    encoding : TaskEncoding
    """
    columns, names, one_dim = _split_columns(Y)
    n_tasks = len(columns)
    if names is None:
        names = np.array(default_task_names(n_tasks, one_dim), dtype=object)
    n_samples = len(columns[0])
    codes = np.full((n_samples, n_tasks), MISSING, dtype=np.int64)
    classes = []
    for t, col in enumerate(columns):
        task = names[t]
        mask = _missing_mask(col)
        values = _as_label_array(_observed_values(col, mask), task)
        if values.size == 0:
            if one_dim:
                raise ValueError(
                    "Input y contains NaN or missing labels only; there is nothing "
                    "to learn."
                )
            raise ValueError(
                f"Task {task!r} (column {t}) has no observed label: every entry is "
                "missing. Drop the column or provide some labels."
            )
        try:
            task_classes, inverse = np.unique(values, return_inverse=True)
        except TypeError as exc:
            raise ValueError(
                f"Labels of task {task!r} cannot be sorted ({exc}); use labels of one "
                "type."
            ) from None
        codes[~mask, t] = inverse.reshape(-1)
        classes.append(task_classes)
    return codes, TaskEncoding(classes, names, one_dim)


def _is_label_list(value):
    return isinstance(value, (list, tuple, np.ndarray)) or (
        hasattr(value, "iloc") and hasattr(value, "dtype")
    )


def encoding_from_classes(Y, classes):
    """The :class:`TaskEncoding` of ``Y``'s tasks with the labels ``classes``
    (the first call of ``partial_fit``).

    ``classes`` is one array of labels per task (a list of arrays, as
    ``MultiOutputClassifier.partial_fit`` takes), or for a 1-D ``y`` one
    array of labels (as ``SGDClassifier.partial_fit``).
    """
    columns, names, one_dim = _split_columns(Y)
    n_tasks = len(columns)
    if names is None:
        names = np.array(default_task_names(n_tasks, one_dim), dtype=object)
    if isinstance(classes, (str, bytes)) or not _is_label_list(classes):
        raise ValueError(
            f"classes must be a list with one array of labels per task; got {classes!r}."
        )
    per_task = list(classes)
    nested = [_is_label_list(c) for c in per_task]
    if one_dim and not (len(per_task) == 1 and nested[0]):
        per_task = [classes]  # y is one task: classes are its labels
    elif not all(nested):
        raise ValueError(
            f"classes must be a list with one array of labels per task ({n_tasks} "
            f"task(s): {list(names)}); got {classes!r}."
        )
    if len(per_task) != n_tasks:
        raise ValueError(
            f"classes has {len(per_task)} entries but Y has {n_tasks} task(s) "
            f"({list(names)}): give one array of labels per task."
        )
    result = []
    for task, labels in zip(names, per_task):
        labels = np.asarray(labels, dtype=object if isinstance(labels, (list, tuple)) else None)
        if labels.ndim != 1 or labels.size == 0:
            raise ValueError(
                f"classes of task {task!r} must be a non-empty 1-D array of labels; got "
                f"shape {labels.shape}."
            )
        if _missing_mask(labels).any():
            raise ValueError(
                f"classes of task {task!r} contain a missing value (NaN or None); list "
                "the labels only."
            )
        labels = _as_label_array(labels, task)
        try:
            result.append(np.unique(labels))
        except TypeError as exc:
            raise ValueError(
                f"classes of task {task!r} cannot be sorted ({exc}); use labels of one type."
            ) from None
    return TaskEncoding(result, names, one_dim)


def encode_with(Y, encoding, known="seen during fit"):
    """Encode targets with classes learned earlier (used by ``score``,
    ``warm_start`` and ``partial_fit``). A label outside a task's classes
    raises an error naming the task and the label; ``known`` says where the
    classes came from."""
    columns, _, _ = _split_columns(Y)
    if len(columns) != len(encoding.classes):
        raise ValueError(
            f"Y has {len(columns)} task(s) but the estimator was fitted with "
            f"{len(encoding.classes)}."
        )
    n_samples = len(columns[0])
    codes = np.full((n_samples, len(columns)), MISSING, dtype=np.int64)
    for t, (col, task_classes) in enumerate(zip(columns, encoding.classes)):
        task = encoding.task_names[t]
        mask = _missing_mask(col)
        values = _as_label_array(_observed_values(col, mask), task)
        if values.size == 0:
            continue
        try:
            idx = np.searchsorted(task_classes, values)
        except TypeError:
            idx = np.zeros(len(values), dtype=np.int64)
        idx = np.clip(idx, 0, len(task_classes) - 1)
        unknown = task_classes[idx] != values
        if np.any(unknown):
            raise ValueError(
                f"Task {task!r} has labels not {known}: "
                f"{np.unique(values[unknown]).tolist()[:5]}; known labels are "
                f"{task_classes.tolist()[:10]}."
            )
        codes[~mask, t] = idx
    return codes


def output_dtype(classes):
    """dtype of the ``(n_samples, n_tasks)`` array that ``predict`` returns."""
    dtypes = [c.dtype for c in classes]
    kinds = {d.kind for d in dtypes}
    if kinds <= {"i", "u"} or kinds == {"b"} or kinds == {"U"} or kinds == {"f"}:
        common = np.result_type(*dtypes)
        if common.kind == kinds.pop() or common.kind in "iu":
            return common
        # e.g. uint64 with int64 has no common integer type: keep the labels exact
    return np.dtype(object)


def decode(codes, encoding):
    """Map codes of shape (n_samples, n_tasks) back to labels."""
    if encoding.one_dimensional:
        return encoding.classes[0][codes[:, 0]]
    out = np.empty(codes.shape, dtype=output_dtype(encoding.classes))
    for t, task_classes in enumerate(encoding.classes):
        out[:, t] = task_classes[codes[:, t]]
    return out
