"""Multi-task problems built from data bundled with scikit-learn (no download)."""

import numpy as np
from sklearn.datasets import load_digits

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
    if not as_frame:
        return X, Y
    try:
        import pandas as pd
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "as_frame=True needs pandas; install it or pass as_frame=False."
        ) from exc
    return X, pd.DataFrame(Y, columns=tasks)
