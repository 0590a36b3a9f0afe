"""The estimator's input checks: devices, per-task options, weights, groups,
label types and feature frames. Each raises an error that names the task,
column or value at fault and says what to do."""

import math
import mmap
import numbers
import sys
import warnings
from collections.abc import Mapping

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.validation import (
    _check_feature_names,
    _check_n_features,
    _check_sample_weight,
)

from ._distributed import local_cuda_device
from ._targets import _missing_mask


def _resolve_device(device):
    if device == "auto":
        if not torch.cuda.is_available():
            return "cpu"
        return local_cuda_device() or "cuda"  # one GPU per process when data-parallel
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(
            f"device={device!r} is not a torch device; use 'auto', 'cpu' or 'cuda'."
        ) from exc
    if resolved.type not in ("cpu", "cuda"):
        raise ValueError(
            f"device={device!r} is not supported; use 'auto', 'cpu' or 'cuda'."
        )
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} was requested but CUDA is not available on this "
            "machine; use device='auto' to fall back to the CPU."
        )
    return str(resolved)


def _per_task_spec(value, task_names, what):
    """Turn a per-task option (sequence or dict by task name) into a list."""
    n_tasks = len(task_names)
    if hasattr(value, "index") and hasattr(value, "to_dict"):  # pandas Series
        if any(isinstance(k, str) for k in value.index):
            value = value.to_dict()
        else:
            value = value.tolist()
    if isinstance(value, Mapping):
        unknown = [k for k in value if str(k) not in set(task_names)]
        if unknown:
            raise ValueError(
                f"{what} names unknown task(s) {unknown}; the tasks are "
                f"{list(task_names)}."
            )
        by_name = {str(k): v for k, v in value.items()}
        return [by_name.get(name) for name in task_names], True
    values = list(value)
    if len(values) != n_tasks:
        raise ValueError(
            f"{what} has {len(values)} entries but Y has {n_tasks} task(s) "
            f"{list(task_names)}; give one entry per task or a dict by task name."
        )
    return values, False


def _resolve_task_weights(task_weights, task_names):
    n_tasks = len(task_names)
    if task_weights is None:
        return np.ones(n_tasks)
    values, by_name = _per_task_spec(task_weights, task_names, "task_weights")
    if by_name:
        values = [1.0 if v is None else v for v in values]
    weights = np.empty(n_tasks)
    for t, (name, w) in enumerate(zip(task_names, values)):
        if isinstance(w, bool) or not isinstance(w, numbers.Real):
            raise ValueError(
                f"task_weights for task {name!r} must be a number; got {w!r}."
            )
        if not np.isfinite(w) or w < 0:
            raise ValueError(
                f"task_weights for task {name!r} must be finite and >= 0; got {w!r}."
            )
        weights[t] = float(w)
    if not np.any(weights > 0):
        raise ValueError("task_weights are all 0: at least one task must have weight > 0.")
    return weights


def _resolve_class_weights(class_weight, codes, classes, task_names, one_dimensional):
    """Return one array of class weights per task (or None for unweighted)."""
    if class_weight is None:
        return [None] * len(classes)
    if isinstance(class_weight, str):
        specs = [class_weight] * len(classes)
    elif one_dimensional and isinstance(class_weight, Mapping):
        specs = [class_weight]
    else:
        specs, _ = _per_task_spec(class_weight, task_names, "class_weight")
    result = []
    for t, (spec, task_classes) in enumerate(zip(specs, classes)):
        if spec is None:
            result.append(None)
            continue
        if not (spec == "balanced" or isinstance(spec, Mapping)):
            raise ValueError(
                f"class_weight for task {task_names[t]!r} must be None, 'balanced' "
                f"or a dict {{label: weight}}; got {spec!r}."
            )
        if isinstance(spec, Mapping):
            spec = _check_class_weight_dict(spec, task_classes, task_names[t])
        observed = codes[:, t][codes[:, t] >= 0]
        weights = compute_class_weight(spec, classes=task_classes, y=task_classes[observed])
        result.append(np.asarray(weights, dtype=np.float32))
    return result


def _refuse_balanced_for_partial_fit(class_weight):
    specs = class_weight.values() if isinstance(class_weight, dict) else (
        class_weight if isinstance(class_weight, (list, tuple)) else [class_weight])
    if any(isinstance(spec, str) and spec == "balanced" for spec in specs):
        raise ValueError(
            "class_weight='balanced' is not supported by partial_fit: it would be "
            "estimated from one chunk. Give each task's weights as a dict {label: "
            "weight}, e.g. from sklearn.utils.class_weight.compute_class_weight on all "
            "the labels."
        )


def _check_class_weight_dict(spec, task_classes, task):
    known = set(task_classes.tolist())
    unknown = [k for k in spec if k not in known]
    if unknown:
        raise ValueError(
            f"class_weight for task {task!r} names label(s) {unknown} that are not "
            f"among the task's labels {task_classes.tolist()[:20]}."
        )
    checked = {}
    for label, weight in spec.items():
        if (
            isinstance(weight, bool)
            or not isinstance(weight, numbers.Real)
            or not np.isfinite(weight)
            or weight < 0
        ):
            raise ValueError(
                f"class_weight for task {task!r}, label {label!r}: weights must be "
                f"finite numbers >= 0; got {weight!r}."
            )
        checked[label] = float(weight)
    if checked and all(
        checked.get(c, 1.0) == 0 for c in task_classes.tolist()
    ):
        raise ValueError(f"class_weight for task {task!r} gives every label weight 0.")
    return checked


def _check_fit_sample_weight(sample_weight, X, codes, task_names):
    sample_weight = _check_sample_weight(
        sample_weight, X, dtype=np.float64, ensure_non_negative=True
    )
    for t, name in enumerate(task_names):
        if not np.any(sample_weight[codes[:, t] >= 0] > 0):
            raise ValueError(
                f"sample_weight is 0 on every labelled row of task {name!r}: the task "
                "has nothing to learn from."
            )
    # the losses are weighted means: rescaling changes nothing but avoids overflow
    return (sample_weight / sample_weight.mean()).astype(np.float32)


def _check_groups(groups, n_samples):
    """Integer codes of ``groups`` (any hashable labels, one per row), or None."""
    if groups is None:
        return None
    groups = np.asarray(groups)
    if groups.ndim != 1 or groups.shape[0] != n_samples:
        raise ValueError(
            f"groups must have one entry per row of X ({n_samples}); got shape "
            f"{groups.shape}."
        )
    missing = np.flatnonzero(_missing_mask(groups))  # NaN, None, pandas' NA
    if missing.size:
        raise ValueError(
            f"groups contains {missing.size} missing value(s) (NaN, None or NA), the "
            f"first at row {missing[0]}: give every row a group."
        )
    _, codes = np.unique(groups.astype(str) if groups.dtype.kind == "O" else groups,
                         return_inverse=True)
    return codes.astype(np.int64)


def _same_value(a, b):
    """Equality that also holds for arrays and tensors (element-wise otherwise)."""
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, (np.ndarray, torch.Tensor)):
        return a.shape == b.shape and bool((a == b).all())
    try:
        return bool(a == b)
    except (ValueError, TypeError, RuntimeError):
        return False


def _label_family(dtype):
    return {"b": "bool", "i": "number", "u": "number", "f": "number", "U": "str"}.get(
        dtype.kind, "other"
    )


def _check_comparable(observed, task_classes, task):
    """Labels of another type than the fitted ones are a mistake, not an error rate."""
    if observed.size == 0:
        return
    got, fitted = _label_family(observed.dtype), _label_family(task_classes.dtype)
    if "other" not in (got, fitted) and got != fitted:
        raise ValueError(
            f"Labels of task {task!r} are {got} but the estimator was fitted on "
            f"{fitted} labels {task_classes.tolist()[:10]}."
        )


# Features whose mean or standard deviation exceeds this (in absolute value) make
# the first layer's pre-activations far larger than its initialisation expects.
_UNSCALED_THRESHOLD = 20.0


def _warn_if_unscaled(X, feature_names=None):
    """Warn when dense features are far from unit scale (e.g. raw wine or
    breast-cancer measurements, where training on raw features costs 10-20
    points of accuracy in benchmarks/accuracy.py)."""
    if sp.issparse(X) or X.shape[0] < 2:
        return
    # a strided sample: no full copy (np.asarray computes a Dask array's sample)
    rows = np.asarray(X[:: max(1, X.shape[0] // 10_000)])
    mean = rows.mean(axis=0, dtype=np.float64)
    std = rows.std(axis=0, dtype=np.float64)
    scale = np.maximum(np.abs(mean), std)
    far = np.flatnonzero(scale > _UNSCALED_THRESHOLD)
    if far.size == 0:
        return
    worst = int(far[np.argmax(scale[far])])
    name = f"'{feature_names[worst]}' (column {worst})" if feature_names is not None else (
        f"column {worst}")
    warnings.warn(
        f"{far.size} feature(s) are far from unit scale; the largest is {name} with mean "
        f"{mean[worst]:.4g} and standard deviation {std[worst]:.4g}. Neural networks "
        "train poorly on such inputs: standardize X first, e.g. "
        "make_pipeline(StandardScaler(), MultiTaskClassifier()), or set "
        "input_scaling='robust'.",
        UserWarning,
        stacklevel=4,  # the caller of fit, through scikit-learn's _fit_context
    )


def _check_numeric_frame(X):
    """A DataFrame with string or categorical columns: name them and say how to
    encode them (pandas' own "could not convert string to float" does neither)."""
    dtypes = getattr(X, "dtypes", None)
    if dtypes is None or not hasattr(dtypes, "items"):
        return
    bad = [str(name) for name, dtype in dtypes.items()
           if getattr(dtype, "kind", "O") not in "biuf"]
    if bad:
        shown = ", ".join(repr(b) for b in bad[:5]) + (" ..." if len(bad) > 5 else "")
        raise ValueError(
            f"X has {len(bad)} non-numeric column(s): {shown}. MultiTaskClassifier "
            "needs numeric features: encode them first, e.g. make_pipeline("
            "ColumnTransformer([('cat', OneHotEncoder(handle_unknown='ignore'), "
            f"{bad[:5]!r})], remainder='passthrough'), MultiTaskClassifier())."
        )


# ------------------------------------------------------------ out-of-core X
def _is_dask_collection(X):
    """Whether ``X`` is a Dask array or DataFrame, without importing Dask (it
    is only imported once the user has imported it)."""
    return type(X).__module__.split(".")[0] in ("dask", "dask_expr") and hasattr(X, "dask")


def _is_dask_array(X):
    da = sys.modules.get("dask.array")
    return da is not None and isinstance(X, da.Array)


def _is_memory_mapped(X):
    """Whether ``X`` is (a view of) a NumPy memory map."""
    base = X
    while base is not None:
        if isinstance(base, (np.memmap, mmap.mmap)):
            return True
        base = getattr(base, "base", None)
    return False


def _is_streamed(X):
    """Whether ``X`` is read one batch or block at a time rather than through
    ``validate_data``: a Dask collection, or a memory map of another dtype than
    float32 (a float32 one goes through ``validate_data``, which shares it)."""
    if _is_dask_collection(X):
        return True
    return (isinstance(X, np.ndarray) and _is_memory_mapped(X)
            and X.dtype != np.float32)


def _computed(value):
    """A Dask collection computed into memory (labels, sample weights, groups:
    one value per row, small beside ``X``); anything else as it is."""
    if _is_dask_collection(value):
        return value.compute()
    return value


# rows of a memory map checked for finiteness at a time
_CHECK_CHUNK_ROWS = 65_536


def check_streamed_X(estimator, X, reset):
    """``validate_data`` for an ``X`` that is streamed (see :func:`_is_streamed`),
    without reading it into memory.

    Checks the shape and dtype (lazily for Dask) and sets or checks
    ``n_features_in_`` and ``feature_names_in_``. A Dask DataFrame becomes a
    Dask array (its partitions' lengths are computed), and a Dask array gets
    one chunk along the columns, so that a block holds whole rows. A memory
    map is checked for finite values a chunk of rows at a time, after the
    conversion to float32 that its batches will go through; a Dask array's
    blocks are checked as they are read (by ``_data.BlockData``).
    """
    if _is_dask_collection(X) and not _is_dask_array(X):
        if not hasattr(X, "to_dask_array"):
            raise TypeError(
                f"X is a Dask {type(X).__name__}; pass a Dask array or DataFrame "
                "(e.g. X.to_dask_array(lengths=True) or dask.array.from_delayed)."
            )
        # the empty pandas frame that Dask keeps as the frame's template
        _check_feature_names(estimator, getattr(X, "_meta", X), reset=reset)
        X = X.to_dask_array(lengths=True)
    else:
        _check_feature_names(estimator, X, reset=reset)
    if X.ndim != 2:
        raise ValueError(
            f"Expected a 2D array for X, got {X.ndim}D with shape {X.shape}; reshape "
            "it to (n_samples, n_features)."
        )
    if X.dtype.kind not in "biuf":
        raise ValueError(
            f"X has dtype {X.dtype}; MultiTaskClassifier needs numeric features."
        )
    n_samples, n_features = X.shape
    if not isinstance(n_samples, numbers.Integral) or math.isnan(n_samples):
        raise ValueError(
            "X is a Dask array whose number of rows is unknown (chunk sizes are "
            "NaN); call X.compute_chunk_sizes() first, or for a Dask DataFrame "
            "X.to_dask_array(lengths=True)."
        )
    if n_samples < 1 or n_features < 1:
        raise ValueError(
            f"Found array with {n_samples} sample(s) and {n_features} feature(s) "
            "while a minimum of 1 is required."
        )
    _check_n_features(estimator, X, reset=reset)
    if _is_dask_array(X):
        if len(X.chunks[1]) > 1:
            X = X.rechunk({1: -1})
        return X
    for start in range(0, n_samples, _CHECK_CHUNK_ROWS):
        with np.errstate(over="ignore"):  # beyond float32: infinite, refused below
            chunk = np.asarray(X[start:start + _CHECK_CHUNK_ROWS], dtype=np.float32)
        check_finite_rows(chunk, start)
    return X


def check_finite_rows(chunk, start, block=None):
    """Raise a ValueError naming the first rows of ``chunk`` (rows ``start``
    onwards of ``X``) that hold NaN or infinity (after conversion to float32:
    a float64 value beyond float32's range counts as infinite).

    ``block``: ``(index, first row, last row)`` of the Dask block they are in.
    """
    # a float64 sum of float32 values cannot overflow: it is finite exactly
    # when every value is, and needs no boolean array the size of the chunk
    if np.isfinite(np.sum(chunk, dtype=np.float64)):
        return
    bad = np.flatnonzero(~np.isfinite(chunk).all(axis=1)) + start
    where = "" if block is None else " in block {} (rows {} to {})".format(*block)
    shown = ", ".join(str(r) for r in bad[:5]) + (" ..." if bad.size > 5 else "")
    raise ValueError(
        f"Input X contains NaN, infinity or a value too large for float32{where}: "
        f"{bad.size} row(s), at row(s) {shown}. Impute or drop them first (e.g. "
        "with dask_ml or a SimpleImputer fitted on a sample)."
    )
