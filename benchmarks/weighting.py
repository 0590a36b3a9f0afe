"""Task-weighting strategies side by side on the digits multi-task problem.

For every registered strategy: cross-validated per-task accuracy (same folds
for all), mean accuracy, and training time per epoch relative to static
weights (median over folds). Run from the repository root::

    OMP_NUM_THREADS=1 python benchmarks/weighting.py [--folds 3] [--max-iter 40]

The gradient-based strategies need one backward pass per task through the
shared trunk; the issue's budget is 1.5 x n_tasks the time per epoch of
static weights.
"""

import argparse
import os
import platform
import time
import warnings

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import KFold

from sklearn_mtl import MultiTaskClassifier
from sklearn_mtl.datasets import load_digits_multitask
from sklearn_mtl.weighting import WEIGHTINGS


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--max-iter", type=int, default=40)
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=ConvergenceWarning)  # fixed epochs on purpose

    tasks = ["digit", "parity", "ge5", "loops"]
    X, Y = load_digits_multitask(tasks=tasks, as_frame=False)
    X = (X / 16).astype(np.float32)
    folds = list(KFold(args.folds, shuffle=True, random_state=0).split(X))
    print(
        f"digits, {len(tasks)} tasks, {args.folds}-fold CV, {args.max_iter} epochs "
        f"(tol=0: every strategy trains all epochs) | torch {torch.__version__} | "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"{torch.get_num_threads()} torch threads\n"
    )
    rows = {}
    for name in ["static"] + sorted(set(WEIGHTINGS) - {"static"}):
        accuracy, per_epoch = [], []
        for train, test in folds:
            clf = MultiTaskClassifier(
                hidden_layer_sizes=(256, 256), max_iter=args.max_iter, tol=0.0,
                dropout=0.1, early_stopping=False,  # 0.1.0's defaults, as in README.md
                weighting=name, random_state=0,
            )
            start = time.perf_counter()
            clf.fit(X[train], Y[train])
            per_epoch.append((time.perf_counter() - start) / clf.n_iter_)
            accuracy.append((clf.predict(X[test]) == Y[test]).mean(axis=0))
        rows[name] = (np.array(accuracy), float(np.median(per_epoch)))

    static_time = rows["static"][1]
    header = f"{'strategy':<14}" + "".join(f"{t:>15}" for t in tasks)
    header += f"{'mean':>8}{'s/epoch':>9}{'vs static':>10}"
    print(header)
    print("-" * len(header))
    for name, (acc, seconds) in rows.items():
        cells = "".join(f"{a.mean():>8.3f} ± {a.std():.3f}" for a in acc.T)
        print(f"{name:<14}{cells}{acc.mean():>8.3f}{seconds:>9.3f}{seconds / static_time:>9.2f}x")
    print(f"\nBudget for gradient-based strategies: {1.5 * len(tasks):.1f}x static.")


if __name__ == "__main__":
    main()
