"""Task grouping evidence: recovery of planted groups, and all-in-one vs
one-model-per-task vs ``task_groups="auto"`` on the accuracy suite.

``recovery``: the package's generator with planted groups of related tasks
(``make_multitask_classification(task_groups=...)``), one seed per run; the
default ``MultiTaskClassifier`` measures affinity (``affinity_every="auto"``)
and :func:`~sklearn_mtl.grouping.suggest_task_groups` gives the groups; a seed
counts when the partition is exactly the planted one.

``suite``: the problems of ``benchmarks/accuracy.py`` (its loaders, folds and
preprocessing), three models of the default network: ``MultiTaskClassifier()``
(all tasks in one network), ``GroupedMultiTaskClassifier(task_groups=[[0], [1],
...])`` (one network per task) and ``GroupedMultiTaskClassifier()``
(``task_groups="auto"``: affinity measured on each training fold, then one network
per suggested group). Mean per-task accuracy and fit time per problem. Results
are cached in ``benchmarks/results/grouping_cache.json``. Run from the
repository root::

    OMP_NUM_THREADS=1 python benchmarks/grouping.py recovery
    OMP_NUM_THREADS=1 python benchmarks/grouping.py recovery --relatedness 0.9
    OMP_NUM_THREADS=1 python benchmarks/grouping.py suite --problems digits_ink,wine
    OMP_NUM_THREADS=1 python benchmarks/grouping.py suite          # all 20 problems
"""

import argparse
import json
import os
import sys
import time
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline

sys.path.insert(0, str(Path(__file__).parent))
import accuracy  # noqa: E402  (the suite's problems, folds and preprocessing)

from sklearn_mtl import GroupedMultiTaskClassifier, MultiTaskClassifier  # noqa: E402
from sklearn_mtl.datasets import make_multitask_classification  # noqa: E402
from sklearn_mtl.grouping import suggest_task_groups  # noqa: E402

CACHE = Path(__file__).parent / "results" / "grouping_cache.json"

# recovery: eight tasks in three planted groups (groups of at most three: the
# mean-affinity objective cannot tell a larger group of equally related tasks
# from its split into smaller ones)
PLANTED = [[0, 1, 2], [3, 4, 5], [6, 7]]


def planted_problem(seed, relatedness=1.0):
    """Binary tasks, each reading one direction of the features; the tasks of a
    group read the same direction (relatedness 1: their labels differ by the
    noise only) or correlated ones (relatedness < 1); groups are independent."""
    X, Y = make_multitask_classification(
        n_samples=2000, n_features=30, n_tasks=8, n_classes=2, n_informative=1,
        relatedness=relatedness, task_groups=PLANTED, noise=0.2, random_state=seed)
    return X, Y


def recovery(seeds, relatedness):
    print(f"planted groups {PLANTED}, 2,000 rows, 30 features, binary tasks reading one "
          f"direction each, relatedness {relatedness} within groups; "
          "MultiTaskClassifier(affinity_every='auto')")
    print(f"{'seed':>4}  {'suggested groups':<40}{'exact':>6}{'fit s':>7}")
    hits = 0
    for seed in seeds:
        X, Y = planted_problem(seed, relatedness)
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf = MultiTaskClassifier(affinity_every="auto", random_state=seed).fit(X, Y)
        seconds = time.perf_counter() - start
        groups = suggest_task_groups(clf.task_affinity_).groups
        exact = sorted(groups) == sorted(PLANTED)
        hits += exact
        print(f"{seed:>4}  {str(groups):<40}{'yes' if exact else 'no':>6}{seconds:>7.1f}",
              flush=True)
    print(f"recovered the planted partition exactly in {hits}/{len(seeds)} seeds")


# ------------------------------------------------------------------ suite
def models(n_tasks):
    return {
        "all-in-one": MultiTaskClassifier(random_state=0),
        "per-task": GroupedMultiTaskClassifier(
            MultiTaskClassifier(random_state=0), task_groups=[[t] for t in range(n_tasks)]),
        "auto": GroupedMultiTaskClassifier(MultiTaskClassifier(random_state=0)),
    }


def _load():
    return json.loads(CACHE.read_text()) if CACHE.exists() else {}


def _save(key, result):
    CACHE.parent.mkdir(exist_ok=True)
    merged = {**_load(), key: result}
    tmp = CACHE.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(merged, indent=0, sort_keys=True))
    tmp.replace(CACHE)


def evaluate(problem, model, cache, refresh=False):
    """Per-fold per-task accuracy, fit seconds (and, for a grouped model, the
    groups of each fold) on the suite's folds and preprocessing."""
    X, Y, _, row_groups = accuracy.load_problem(problem)
    missing = np.isnan(Y).any()
    pipe = make_pipeline(accuracy.preprocessing(X), model)
    key = accuracy._key(problem, pipe)
    if key in cache and not refresh:
        return cache[key]
    step = pipe.steps[-1][0]
    result = {"accuracy": [], "fit_s": [], "groups": []}
    for train, test in accuracy.folds(problem):
        fitted = clone(pipe)
        y_train = Y[train] if missing else Y[train].astype(np.int64)
        extra = {} if row_groups is None else {f"{step}__groups": row_groups[train]}
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            fitted.fit(accuracy._rows(X, train), y_train, **extra)
        result["fit_s"].append(time.perf_counter() - start)
        predicted = np.asarray(fitted.predict(accuracy._rows(X, test)))
        result["accuracy"].append(accuracy._mean_accuracy(Y[test], predicted))
        final = fitted.steps[-1][1]
        result["groups"].append(getattr(final, "task_groups_", None))
    cache[key] = result
    _save(key, result)
    return result


def _task_name(fitted_name, names):
    """The suite's name of a task the estimator calls ``task_<i>``."""
    prefix, _, index = fitted_name.rpartition("_")
    return names[int(index)] if prefix == "task" and index.isdigit() else fitted_name


def suite(problems, refresh):
    cache = _load()
    with warnings.catch_warnings():  # torch's start-up cost outside the timings
        warnings.simplefilter("ignore")
        MultiTaskClassifier(max_iter=2, random_state=0).fit(
            np.random.RandomState(0).standard_normal((64, 4)), np.arange(64) % 2)
    header = (f"{'problem':<16}{'tasks':>6}{'all-in-one':>12}{'per-task':>10}{'auto':>8}"
              f"{'auto-best':>10}{'fit s (all/per/auto)':>24}  auto groups (most common)")
    print(header)
    print("-" * len(header))
    summary = []
    for problem in problems:
        _, Y, names, _ = accuracy.load_problem(problem)
        results = {label: evaluate(problem, model, cache, refresh)
                   for label, model in models(Y.shape[1]).items()}
        mean = {k: float(np.mean(v["accuracy"])) for k, v in results.items()}
        fit = {k: float(np.sum(v["fit_s"])) for k, v in results.items()}
        best = max(mean["all-in-one"], mean["per-task"])
        gap = mean["auto"] - best
        summary.append((problem, gap))
        # the suite's Y is an array: show the task names of benchmarks/accuracy.py
        named = [[[_task_name(t, names) for t in group] for group in groups]
                 for groups in results["auto"]["groups"]]
        common = Counter(json.dumps(g) for g in named).most_common(1)
        shown = common[0][0] if common else "-"
        if len(shown) > 60:
            shown = shown[:57] + "..."
        fits = f"{fit['all-in-one']:.0f}/{fit['per-task']:.0f}/{fit['auto']:.0f}"
        print(f"{problem:<16}{len(names):>6}{mean['all-in-one']:>12.3f}"
              f"{mean['per-task']:>10.3f}{mean['auto']:>8.3f}{gap:>+10.4f}{fits:>24}  "
              f"{shown}", flush=True)
    wins = [p for p, g in summary if g > 0]
    within = [p for p, g in summary if g >= -0.005]
    print(f"auto at least as accurate as the better of all-in-one and per-task, or within "
          f"0.005: {len(within)}/{len(summary)}; strictly better on {len(wins)}: "
          f"{', '.join(wins) or 'none'}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    rec = sub.add_parser("recovery")
    rec.add_argument("--seeds", type=int, default=10)
    rec.add_argument("--relatedness", type=float, default=1.0)
    run = sub.add_parser("suite")
    run.add_argument("--problems", default=None)
    run.add_argument("--refresh", action="store_true")
    args = parser.parse_args()
    if args.command == "recovery":
        recovery(list(range(args.seeds)), args.relatedness)
    else:
        problems = (args.problems.split(",") if args.problems
                    else accuracy.HALVES["tuning"] + accuracy.HALVES["confirmation"])
        suite(problems, args.refresh)


if __name__ == "__main__":
    main()
