"""``python -m sklearn_mtl``: one multi-task network vs one model per task.

Builds four tasks from scikit-learn's bundled handwritten digits (digit,
parity, digit >= 5, number of closed loops), cross-validates
``MultiTaskClassifier`` and ``MultiOutputClassifier(LogisticRegression())``
on the same folds, and prints per-task accuracy, fit time and parameter count.
"""

import argparse
import sys
import time

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold
from sklearn.multioutput import MultiOutputClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from . import MultiTaskClassifier, __version__
from .datasets import load_digits_multitask


def _n_parameters(pipeline):
    model = pipeline[-1]
    if isinstance(model, MultiTaskClassifier):
        return model.n_parameters_
    return int(sum(e.coef_.size + e.intercept_.size for e in model.estimators_))


def _cross_validate(make_model, X, Y, folds):
    """Per-fold per-task accuracy, total fit time and parameter count."""
    scores, fit_time = [], 0.0
    for train, test in folds:
        model = make_model()
        start = time.perf_counter()
        model.fit(X[train], Y[train])
        fit_time += time.perf_counter() - start
        scores.append((model.predict(X[test]) == Y[test]).mean(axis=0))
    return np.array(scores), fit_time, _n_parameters(model)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m sklearn_mtl", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--folds", type=int, default=5, help="cross-validation folds")
    parser.add_argument("--max-iter", type=int, default=200, help="epochs at most")
    args = parser.parse_args(argv)

    X, Y = load_digits_multitask(as_frame=False)
    tasks = ["digit", "parity", "ge5", "loops"]
    folds = list(KFold(args.folds, shuffle=True, random_state=0).split(X))
    device = "cuda" if torch.cuda.is_available() else "cpu"
    print(
        f"sklearn_mtl {__version__} | digits: {X.shape[0]} images, {len(tasks)} tasks | "
        f"{args.folds}-fold CV, same folds for both models | device: {device}\n"
    )
    models = {
        "MultiTaskClassifier": lambda: make_pipeline(
            StandardScaler(), MultiTaskClassifier(max_iter=args.max_iter, random_state=0)
        ),
        "MultiOutput(LogReg)": lambda: make_pipeline(
            StandardScaler(), MultiOutputClassifier(LogisticRegression(max_iter=2000))
        ),
    }
    results = {name: _cross_validate(make, X, Y, folds) for name, make in models.items()}

    names = list(results)
    width = max(len(n) for n in names) + 2
    print(f"{'task':<10}" + "".join(f"{n:>{width + 6}}" for n in names))
    for t, task in enumerate(tasks):
        cells = [f"{s[:, t].mean():.3f} ± {s[:, t].std():.3f}" for s, _, _ in results.values()]
        print(f"{task:<10}" + "".join(f"{c:>{width + 6}}" for c in cells))
    mean_cells = [f"{s.mean(axis=1).mean():.3f} ± {s.mean(axis=1).std():.3f}"
                  for s, _, _ in results.values()]
    print(f"{'mean':<10}" + "".join(f"{c:>{width + 6}}" for c in mean_cells))
    print(f"{'fit time':<10}" + "".join(
        f"{f'{ft:.1f} s':>{width + 6}}" for _, ft, _ in results.values()))
    print(f"{'params':<10}" + "".join(f"{p:>{width + 6},}" for _, _, p in results.values()))
    print(
        "\nAccuracy: mean ± std over folds. Fit time: all folds together. "
        "Params: one fitted model (all tasks)."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
