"""Multi-task problems: built from data bundled with scikit-learn (no download),
or synthetic ones whose tasks are as related as asked."""

import numbers

import numpy as np
from sklearn.datasets import load_digits
from sklearn.utils import check_random_state

__all__ = ["load_digits_multitask", "make_multitask_classification"]

# Closed loops of each digit as usually written (4 drawn closed).
_LOOPS = np.array([1, 0, 0, 0, 1, 0, 1, 0, 2, 1])

DIGIT_TASKS = {
    "digit": ("the digit, 0-9", lambda d: d),
    "parity": ("1 if the digit is odd, else 0", lambda d: d % 2),
    "ge5": ("1 if the digit is 5 or more, else 0", lambda d: (d >= 5).astype(np.int64)),
    "loops": ("number of closed loops (0, 1 or 2)", lambda d: _LOOPS[d]),
    "prime": (
        "1 if the digit is 2, 3, 5 or 7, else 0",
        lambda d: np.isin(d, [2, 3, 5, 7]).astype(np.int64),
    ),
}


def _targets_frame(Y, names, as_frame):
    """``Y`` as a DataFrame with one named column per task, or as it is."""
    if not as_frame:
        return Y
    try:
        import pandas as pd
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "as_frame=True needs pandas; install it or pass as_frame=False."
        ) from exc
    return pd.DataFrame(Y, columns=list(names))


def load_digits_multitask(*, tasks=("digit", "parity", "ge5", "loops"), as_frame=True):
    """Several classification tasks on scikit-learn's handwritten digits.

    The 1,797 8x8 images of :func:`sklearn.datasets.load_digits` (shipped with
    scikit-learn, so this works offline), each labelled for several related
    tasks derived from its digit.

    ================  =============================================
    task              labels
    ================  =============================================
    ``digit``         the digit, 0-9
    ``parity``        1 if the digit is odd, else 0
    ``ge5``           1 if the digit is 5 or more, else 0
    ``loops``         number of closed loops (0, 1 or 2)
    ``prime``         1 if the digit is 2, 3, 5 or 7, else 0
    ================  =============================================

    Parameters
    ----------
    tasks : sequence of str, default=("digit", "parity", "ge5", "loops")
        Which tasks to build, in this order.
    as_frame : bool, default=True
        Return ``Y`` as a pandas DataFrame with one named column per task
        (needs pandas); else as an ``int64`` array.

    Returns
    -------
    X : ndarray of shape (1797, 64)
        Pixel intensities from 0 to 16 (scale them, e.g. with
        ``StandardScaler`` or by dividing by 16).
    Y : DataFrame or ndarray of shape (1797, n_tasks)
        One column per task.

    Examples
    --------
    >>> from sklearn_mtl.datasets import load_digits_multitask
    >>> X, Y = load_digits_multitask()
    >>> X.shape, list(Y.columns)
    ((1797, 64), ['digit', 'parity', 'ge5', 'loops'])
    """
    tasks = list(tasks)
    unknown = [t for t in tasks if t not in DIGIT_TASKS]
    if unknown or not tasks:
        raise ValueError(
            f"Unknown task(s) {unknown}; choose among {sorted(DIGIT_TASKS)}."
        )
    digits = load_digits()
    X, digit = digits.data, digits.target.astype(np.int64)
    Y = np.column_stack([DIGIT_TASKS[t][1](digit) for t in tasks]).astype(np.int64)
    return X, _targets_frame(Y, tasks, as_frame)


def _check_int(value, name, minimum):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value!r}.")
    return int(value)


def _check_real(value, name, low, high=None):
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not np.isfinite(value)
        or value < low
        or (high is not None and value > high)
    ):
        bounds = f"in [{low}, {high}]" if high is not None else f">= {low}"
        raise ValueError(f"{name} must be a finite number {bounds}; got {value!r}.")
    return float(value)


def _classes_per_task(n_classes, n_tasks):
    if isinstance(n_classes, numbers.Integral) and not isinstance(n_classes, bool):
        values = [n_classes] * n_tasks
    elif isinstance(n_classes, (str, bytes)) or not hasattr(n_classes, "__len__"):
        raise ValueError(
            f"n_classes must be an int or a sequence of one int per task; got {n_classes!r}."
        )
    else:
        values = list(n_classes)
        if len(values) != n_tasks:
            raise ValueError(
                f"n_classes has {len(values)} entries but n_tasks={n_tasks}; give one "
                "number of classes per task, or a single int for all."
            )
    return [_check_int(k, f"n_classes of task {t}", 2) for t, k in enumerate(values)]


def _check_task_groups(task_groups, n_tasks):
    """The group of each task (an int array), or None for one group of all."""
    if task_groups is None:
        return None
    if isinstance(task_groups, (str, bytes)) or not hasattr(task_groups, "__iter__"):
        raise ValueError(
            f"task_groups must be a list of lists of task indices; got {task_groups!r}."
        )
    group_of = np.full(n_tasks, -1)
    for g, group in enumerate(task_groups):
        if isinstance(group, (str, bytes)) or not hasattr(group, "__iter__") or not len(group):
            raise ValueError(
                f"task_groups[{g}] = {group!r} is not a non-empty list of task indices."
            )
        for t in group:
            if isinstance(t, bool) or not isinstance(t, numbers.Integral) or not (
                    0 <= t < n_tasks):
                raise ValueError(
                    f"task_groups[{g}] holds {t!r}; task indices run from 0 to "
                    f"{n_tasks - 1} (n_tasks={n_tasks})."
                )
            if group_of[t] >= 0:
                raise ValueError(
                    f"Task {t} is in task_groups[{group_of[t]}] and task_groups[{g}]: "
                    "every task must be in exactly one group."
                )
            group_of[t] = g
    missing = np.flatnonzero(group_of < 0).tolist()
    if missing:
        raise ValueError(
            f"Task(s) {missing} are in no group of task_groups: every task must be in "
            "exactly one group (a group of one task is [t])."
        )
    return group_of


def _orthonormal(matrix):
    """Orthonormal columns spanning the columns of ``matrix``."""
    q, r = np.linalg.qr(matrix)
    # fix the signs so that a Gaussian matrix gives a uniformly random frame
    return q * np.where(np.diag(r) < 0, -1.0, 1.0)


def _simplex(n_classes):
    """``n_classes`` unit vectors in ``n_classes - 1`` dimensions, equally far apart."""
    centred = np.eye(n_classes) - 1.0 / n_classes
    basis = np.linalg.svd(centred)[2][: n_classes - 1]  # rows span the centred vectors
    vertices = centred @ basis.T
    return vertices / np.linalg.norm(vertices, axis=1, keepdims=True)


def make_multitask_classification(
    n_samples=1000,
    n_features=20,
    n_tasks=4,
    n_classes=2,
    *,
    n_informative=10,
    relatedness=1.0,
    task_groups=None,
    noise=0.1,
    random_state=None,
    as_frame=False,
):
    """Generate a random multi-task classification problem with related tasks.

    Every task reads an ``n_informative``-dimensional projection of the
    features; ``relatedness`` sets how much these projections are shared.
    The rows of ``X`` are drawn from a standard normal distribution. Task
    ``t`` reads the latent features ``Z_t = X @ A_t``, where ``A_t`` is an
    orthonormal basis of the columns of::

        relatedness * W_shared + sqrt(1 - relatedness**2) * W_t

    with ``W_shared`` (common to all tasks) and ``W_t`` (task ``t``'s own)
    independent standard normal matrices of shape ``(n_features,
    n_informative)``. Its ``n_classes[t]`` class scores are ``Z_t @ V_t`` plus
    Gaussian noise of standard deviation ``noise``, where the columns of
    ``V_t`` are the unit vertices of a regular simplex, randomly rotated into
    the latent space; the label is the class with the highest score.

    With ``relatedness=1`` all tasks read the same ``n_informative``
    directions of the feature space (in different combinations), so a
    representation learned for some tasks serves the others: the setting in
    which multi-task learning helps. With ``relatedness=0`` each task reads
    its own random directions, and the tasks share nothing beyond chance.

    With ``task_groups``, the tasks form groups of related tasks: each group
    has its own ``W_shared`` (drawn independently of the other groups'), so
    that ``relatedness`` holds between the tasks of a group while tasks of
    different groups share nothing beyond chance. Groups of tasks planted this
    way are what :func:`~sklearn_mtl.grouping.suggest_task_groups` should
    recover.

    Since ``Z_t`` is standard normal and the simplex is symmetric, every class
    of every task has probability exactly ``1 / n_classes[t]`` for each row:
    classes are balanced up to sampling noise.

    Parameters
    ----------
    n_samples : int, default=1000
        Number of rows.
    n_features : int, default=20
        Number of features.
    n_tasks : int, default=4
        Number of tasks (columns of ``Y``).
    n_classes : int or sequence of int, default=2
        Number of classes of every task, or of each task. At least 2, and at
        most ``n_informative + 1``.
    n_informative : int, default=10
        Dimension of the latent features each task reads (at most
        ``n_features``).
    relatedness : float in [0, 1], default=1.0
        Share of the tasks' projections that is common to all tasks: the
        correlation between corresponding entries of two tasks' matrices
        before orthonormalisation is ``relatedness**2``.
    task_groups : list of list of int, default=None
        A partition of the task indices ``0 .. n_tasks - 1`` into groups
        (every task in exactly one), e.g. ``[[0, 1], [2, 3, 4]]``: each group
        reads its own shared projection. None: one group of all tasks.
    noise : float >= 0, default=0.1
        Standard deviation of the Gaussian noise added to each class score;
        the scores without noise have unit variance.
    random_state : int, RandomState instance or None, default=None
        Seeds the data. The task definitions are drawn before ``X``, so that
        with an int seed, ``n_samples`` changes neither the tasks nor the first
        rows of ``X``.
    as_frame : bool, default=False
        Return ``Y`` as a pandas DataFrame with columns ``task_0``, ``task_1``,
        ... (needs pandas); else as an array.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features), dtype float64
        Features.
    Y : ndarray of shape (n_samples, n_tasks), dtype int64, or DataFrame
        Labels of each task, from 0 to ``n_classes[t] - 1``.

    See Also
    --------
    sklearn.datasets.make_multilabel_classification : Random multi-label
        problems (binary labels, no control of how related they are).
    load_digits_multitask : Several tasks on real images.

    Examples
    --------
    >>> from sklearn_mtl.datasets import make_multitask_classification
    >>> X, Y = make_multitask_classification(
    ...     n_samples=500, n_tasks=3, n_classes=[2, 3, 4], random_state=0)
    >>> X.shape, X.dtype, Y.shape, Y.dtype
    ((500, 20), dtype('float64'), (500, 3), dtype('int64'))
    >>> [int(Y[:, t].max()) + 1 for t in range(3)]
    [2, 3, 4]
    """
    n_samples = _check_int(n_samples, "n_samples", 1)
    n_features = _check_int(n_features, "n_features", 1)
    n_tasks = _check_int(n_tasks, "n_tasks", 1)
    n_informative = _check_int(n_informative, "n_informative", 1)
    if n_informative > n_features:
        raise ValueError(
            f"n_informative={n_informative} exceeds n_features={n_features}: a task "
            "cannot read more directions than there are features."
        )
    classes = _classes_per_task(n_classes, n_tasks)
    too_many = [(t, k) for t, k in enumerate(classes) if k - 1 > n_informative]
    if too_many:
        t, k = too_many[0]
        raise ValueError(
            f"Task {t} has {k} classes, which need n_informative >= {k - 1} "
            f"latent directions; got n_informative={n_informative}. Raise "
            "n_informative or lower n_classes."
        )
    relatedness = _check_real(relatedness, "relatedness", 0.0, 1.0)
    group_of = _check_task_groups(task_groups, n_tasks)
    noise = _check_real(noise, "noise", 0.0)
    rng = check_random_state(random_state)

    # the tasks first: they do not depend on n_samples
    n_groups = 1 if group_of is None else int(group_of.max()) + 1
    shared = [rng.standard_normal((n_features, n_informative)) for _ in range(n_groups)]
    own = np.sqrt(max(1.0 - relatedness**2, 0.0))
    projections = []
    for t, k in enumerate(classes):
        common = shared[0 if group_of is None else group_of[t]]
        mixed = relatedness * common + own * rng.standard_normal((n_features, n_informative))
        # where, in the latent space, the simplex of class directions lies
        frame = _orthonormal(rng.standard_normal((n_informative, k - 1)))
        projections.append(_orthonormal(mixed) @ frame @ _simplex(k).T)

    X = rng.standard_normal((n_samples, n_features))
    Y = np.empty((n_samples, n_tasks), dtype=np.int64)
    for t, (k, projection) in enumerate(zip(classes, projections)):
        scores = X @ projection + noise * rng.standard_normal((n_samples, k))
        Y[:, t] = scores.argmax(axis=1)
    return X, _targets_frame(Y, [f"task_{t}" for t in range(n_tasks)], as_frame)
