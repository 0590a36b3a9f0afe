"""What measuring task affinity costs: fit time with ``affinity_every`` on vs off.

The default network (``MultiTaskClassifier()``, its defaults otherwise) on the
package's generator with 4, 8 and 16 tasks, 2,000 rows, 40 features, a fixed
number of epochs (early stopping off, so that both sides train the same
steps). Each fit is timed ``--repeats`` times and the fastest is kept. Run from
the repository root::

    OMP_NUM_THREADS=1 python benchmarks/affinity_overhead.py
    OMP_NUM_THREADS=1 python benchmarks/affinity_overhead.py --every auto 1 8
"""

import argparse
import time
import warnings

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning

from sklearn_mtl import MultiTaskClassifier
from sklearn_mtl.datasets import make_multitask_classification


def fit_seconds(X, Y, affinity_every, repeats, epochs):
    best = np.inf
    for _ in range(repeats):
        clf = MultiTaskClassifier(max_iter=epochs, early_stopping=False,
                                  n_iter_no_change=epochs, device="cpu", random_state=0,
                                  affinity_every=affinity_every)
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X, Y)
        best = min(best, time.perf_counter() - start)
    return best, clf


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, nargs="+", default=[4, 8, 16])
    parser.add_argument("--every", nargs="+", default=["auto"],
                        help="affinity_every values to time ('auto' or ints)")
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    everies = [e if e == "auto" else int(e) for e in args.every]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), "
          f"{args.rows} rows, {args.epochs} epochs, batch 256 (default network)")
    header = f"{'tasks':>5} {'off (s)':>8}"
    for e in everies:
        header += f" {'every=' + str(e) + ' (s)':>16} {'ratio':>6}"
    print(header)
    for n_tasks in args.tasks:
        X, Y = make_multitask_classification(
            n_samples=args.rows, n_features=40, n_tasks=n_tasks, random_state=0)
        off, _ = fit_seconds(X, Y, None, args.repeats, args.epochs)
        row = f"{n_tasks:>5} {off:>8.2f}"
        for e in everies:
            on, clf = fit_seconds(X, Y, e, args.repeats, args.epochs)
            row += f" {on:>16.2f} {on / off:>6.2f}"
        print(row, flush=True)


if __name__ == "__main__":
    main()
