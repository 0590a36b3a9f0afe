"""partial_fit over chunks against fit on the whole: test accuracy.

For each problem of the accuracy suite (its folds and preprocessing) and
each fold:

* ``fit``: the default ``MultiTaskClassifier`` on the training rows (early
  stopping holds out 10 % of them and keeps the best epoch's weights);
* ``partial, E=best``: the same estimator trained by ``partial_fit`` on the
  training rows cut into ``--chunks`` chunks (shuffled once), passing over
  the chunks as many times as ``fit``'s best epoch (the epoch whose weights
  it kept), so both train as many epochs; ``classes`` from all the
  training labels on the first call;
* ``partial, E=1``: one pass over the chunks (a stream seen once).

Printed: mean per-task test accuracy of each, and the differences.

    OMP_NUM_THREADS=1 python benchmarks/partial_fit.py [--problems digits,wine]
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from accuracy import _mean_accuracy, _rows, folds, load_problem, preprocessing  # noqa: E402

from sklearn_mtl import MultiTaskClassifier  # noqa: E402

DEFAULT_PROBLEMS = ["digits", "digits_ink", "wine", "diabetes", "cancer", "synth_related",
                    "synth_partial", "synth_unrelated", "many_labels", "digits_missing",
                    "digits_rare"]


def _classes(Y):
    return [np.unique(Y[~np.isnan(Y[:, t]), t]) for t in range(Y.shape[1])]


def _best_epoch(clf):
    history = clf.history_
    if clf.early_stopping_:
        return int(np.nanargmin(history[:, "valid_loss"])) + 1
    return len(history)


def _partial(X, Y, epochs, n_chunks, seed):
    order = np.random.default_rng(seed).permutation(len(X))
    chunks = np.array_split(order, n_chunks)
    clf = MultiTaskClassifier(random_state=seed)
    classes = _classes(Y)
    for epoch in range(epochs):
        for i, rows in enumerate(chunks):
            first = epoch == 0 and i == 0
            clf.partial_fit(X[rows], Y[rows], classes=classes if first else None)
    return clf


def run(problem, n_chunks):
    X, Y, _, _ = load_problem(problem)
    Y = np.asarray(Y, dtype=float)
    scores = {"fit": [], "partial, E=best": [], "partial, E=1": []}
    epochs, seconds = [], {"fit": 0.0, "partial, E=best": 0.0}
    for k, (train, test) in enumerate(folds(problem)):
        prep = preprocessing(X).fit(_rows(X, train))
        X_train = np.asarray(prep.transform(_rows(X, train)), dtype=np.float32)
        X_test = np.asarray(prep.transform(_rows(X, test)), dtype=np.float32)
        Y_train, Y_test = Y[train], Y[test]
        start = time.perf_counter()
        fitted = MultiTaskClassifier(random_state=k).fit(X_train, Y_train)
        seconds["fit"] += time.perf_counter() - start
        best = _best_epoch(fitted)
        epochs.append(best)
        start = time.perf_counter()
        partial = _partial(X_train, Y_train, best, n_chunks, k)
        seconds["partial, E=best"] += time.perf_counter() - start
        once = _partial(X_train, Y_train, 1, n_chunks, k)
        for name, model in (("fit", fitted), ("partial, E=best", partial),
                            ("partial, E=1", once)):
            predicted = model.predict(X_test).astype(float)
            scores[name].append(np.mean(_mean_accuracy(Y_test, predicted)))
    return {name: float(np.mean(v)) for name, v in scores.items()}, epochs, seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", default=",".join(DEFAULT_PROBLEMS))
    parser.add_argument("--chunks", type=int, default=10)
    args = parser.parse_args()
    print(f"partial_fit over {args.chunks} chunks vs fit; mean per-task test accuracy, "
          "3 folds")
    header = (f"{'problem':<16} {'fit':>6} {'E=best':>7} {'diff':>7} {'E=1':>6} {'diff':>7}"
              f"  {'epochs (folds)':<15} {'fit s':>6} {'partial s':>9}")
    print(header)
    print("-" * len(header))
    diffs = []
    for problem in args.problems.split(","):
        score, epochs, seconds = run(problem, args.chunks)
        fit, best, once = score["fit"], score["partial, E=best"], score["partial, E=1"]
        diffs.append((best - fit, once - fit))
        print(f"{problem:<16} {fit:6.3f} {best:7.3f} {best - fit:+7.3f} {once:6.3f} "
              f"{once - fit:+7.3f}  {str(epochs):<15} {seconds['fit']:6.1f} "
              f"{seconds['partial, E=best']:9.1f}", flush=True)
    diffs = np.array(diffs)
    print("-" * len(header))
    print(f"{'mean diff':<16} {'':>6} {'':>7} {diffs[:, 0].mean():+7.3f} {'':>6} "
          f"{diffs[:, 1].mean():+7.3f}")
    print(f"{'worst diff':<16} {'':>6} {'':>7} {diffs[:, 0].min():+7.3f} {'':>6} "
          f"{diffs[:, 1].min():+7.3f}")


if __name__ == "__main__":
    main()
