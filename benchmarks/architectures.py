"""Architectures and trunks of MultiTaskClassifier on the digits multi-task problem.

Run from the repository root (one OpenMP thread: on a small machine, torch's
default threading makes these small networks much slower)::

    OMP_NUM_THREADS=1 python benchmarks/architectures.py
    OMP_NUM_THREADS=1 python benchmarks/architectures.py --folds 5 --max-iter 100

(with ``PYTHONPATH=.`` if the package is not installed). It prints, for each
network configuration, the cross-validated accuracy of each task (mean ± std
over folds), the mean over tasks, the number of parameters, the fit time and
the multi-task gain Δm over the single-task networks, next to two single-task
references:

* the default single-task baseline of the hard-sharing MLP, as
  :func:`sklearn_mtl.model_selection.compare_single_task` builds it: the same
  network trained on one task at a time;
* ``MultiOutputClassifier(LogisticRegression())``: one linear model per task.

The data are the 1,797 digits of :func:`sklearn_mtl.datasets.load_digits_multitask`
(tasks digit, parity, ge5, loops), pixels divided by 16, and every model is
fitted and scored on the same ``KFold(folds, shuffle=True, random_state=0)``
folds. The networks share all training settings (the package defaults, except
``max_iter``) and ``random_state=0``. This is a script, not a test: it checks
nothing, and takes a few minutes on a laptop CPU.
"""

import argparse
import os
import platform
import time
import warnings

import numpy as np
import sklearn
import torch
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold
from sklearn.multioutput import MultiOutputClassifier

import sklearn_mtl
from sklearn_mtl import MultiTaskClassifier
from sklearn_mtl.architectures import PLE, MMoE
from sklearn_mtl.datasets import load_digits_multitask
from sklearn_mtl.metrics import task_scores
from sklearn_mtl.model_selection import compare_single_task, count_parameters
from sklearn_mtl.trunks import ConvTrunk

TASKS = ["digit", "parity", "ge5", "loops"]


def configurations(max_iter):
    """(name, estimator) of each multi-task network; the first is the hard-sharing MLP."""
    # the 0.1.0 defaults, under which the figures in README.md were measured
    base = MultiTaskClassifier(
        max_iter=max_iter, dropout=0.1, early_stopping=False, random_state=0
    )
    return [
        ("hard MLP (256, 256)", base),
        (
            "hard MLP (256, 256), heads (64,)",
            clone(base).set_params(head_hidden_layer_sizes=(64,)),
        ),
        (
            "MMoE 4 experts (128,)",
            clone(base).set_params(
                hidden_layer_sizes=(),
                architecture=MMoE(n_experts=4, expert_hidden_layer_sizes=(128,)),
            ),
        ),
        (
            "CGC 2 shared + 1/task (128,)",
            clone(base).set_params(
                hidden_layer_sizes=(),
                architecture=PLE(
                    n_levels=1, n_shared_experts=2, n_task_experts=1,
                    expert_hidden_layer_sizes=(128,),
                ),
            ),
        ),
        (
            "PLE 2 levels, 2 + 1/task (128,)",
            clone(base).set_params(
                hidden_layer_sizes=(),
                architecture=PLE(
                    n_levels=2, n_shared_experts=2, n_task_experts=1,
                    expert_hidden_layer_sizes=(128,),
                ),
            ),
        ),
        (
            "conv (16, 32) + MLP (128,)",
            clone(base).set_params(
                trunk=ConvTrunk(channels=(16, 32)), input_shape=(1, 8, 8),
                hidden_layer_sizes=(128,),
            ),
        ),
    ]


def cross_validate(estimator, X, Y, folds):
    """Per-fold, per-task accuracy, total fit time and parameters (last fold)."""
    scores = np.empty((len(folds), Y.shape[1]))
    fit_time = 0.0
    n_parameters = None
    for f, (train, test) in enumerate(folds):
        model = clone(estimator)
        start = time.perf_counter()
        model.fit(X[train], Y[train])
        fit_time += time.perf_counter() - start
        scores[f] = task_scores(Y[test], model.predict(X[test]))
        n_parameters = count_parameters(model)
    return scores, fit_time, n_parameters


def delta_m(scores, reference):
    """Multi-task gain in percent over ``reference`` (Maninis et al., 2019)."""
    mean, ref = scores.mean(axis=0), reference.mean(axis=0)
    return float(100.0 * np.mean((mean - ref) / ref))


def header(args, n_samples):
    threads = os.environ.get("OMP_NUM_THREADS", "unset")
    cuda = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    return "\n".join(
        [
            "MultiTaskClassifier architectures on digits (tasks: " + ", ".join(TASKS) + ")",
            f"machine: {platform.machine()}, {os.cpu_count()} CPUs, "
            f"torch threads {torch.get_num_threads()} (OMP_NUM_THREADS={threads}), "
            f"CUDA: {cuda}",
            f"python {platform.python_version()}, torch {torch.__version__}, "
            f"scikit-learn {sklearn.__version__}, sklearn_mtl {sklearn_mtl.__version__}",
            f"data: {n_samples} images, X / 16; KFold({args.folds}, shuffle=True, "
            "random_state=0), the same folds for every model",
            f"networks: max_iter={args.max_iter}, other training settings default, "
            "random_state=0",
        ]
    )


def format_table(rows, n_folds, reference_name):
    name_width = max(len(r[0]) for r in rows) + 2
    cell = 15
    columns = [*TASKS, "mean", "params", "fit s", "Δm %"]
    widths = [cell] * len(TASKS) + [7, 10, 8, 8]
    lines = [
        f"{'model':<{name_width}}" + "".join(f"{c:>{w}}" for c, w in zip(columns, widths))
    ]
    lines.append("-" * len(lines[0]))
    for name, scores, fit_time, n_parameters, gain in rows:
        cells = [
            f"{m:.3f} ± {s:.3f}" for m, s in zip(scores.mean(axis=0), scores.std(axis=0))
        ]
        cells += [
            f"{scores.mean():.3f}",
            "n/a" if n_parameters is None else f"{n_parameters:,}",
            f"{fit_time:.1f}",
            "" if gain is None else f"{gain:+.2f}",
        ]
        lines.append(f"{name:<{name_width}}" + "".join(f"{c:>{w}}" for c, w in zip(cells, widths)))
    lines.append(
        f"accuracy: mean ± std over {n_folds} folds; params: of one fitted model (single-task: "
        "all tasks' models together); fit s: all folds (and tasks) together;"
    )
    lines.append(f"Δm: mean relative accuracy gain over {reference_name}, in percent.")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folds", type=int, default=3, help="cross-validation folds (3)")
    parser.add_argument(
        "--max-iter", type=int, default=200, help="epochs of every network (200, the default)"
    )
    args = parser.parse_args(argv)

    # networks that reach max_iter warn; that is part of the setting, not news
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    X, Y = load_digits_multitask(tasks=TASKS, as_frame=False)
    X = X / 16
    folds = list(KFold(args.folds, shuffle=True, random_state=0).split(X))
    print(header(args, len(X)), flush=True)

    # a throwaway fit, so that the first timed model does not pay torch's start-up
    MultiTaskClassifier(hidden_layer_sizes=(8,), max_iter=2).fit(X[:100], Y[:100])

    configs = configurations(args.max_iter)
    hard_name, hard = configs[0]
    start = time.perf_counter()
    # baseline=hard: the same network fitted on one task at a time, which for this
    # configuration (no task weights, class weights or weighting strategy) is what
    # compare_single_task's default baseline builds
    comparison = compare_single_task(hard, X, Y, cv=folds, baseline=hard, task_names=TASKS)
    single = comparison.single_task_scores
    rows = [
        (
            hard_name,
            comparison.multitask_scores,
            comparison.multitask_fit_time,
            comparison.multitask_n_parameters,
            comparison.delta_m,
        )
    ]
    print(f"  {hard_name} and its single-task baseline: "
          f"{time.perf_counter() - start:.0f} s", flush=True)
    for name, estimator in configs[1:]:
        start = time.perf_counter()
        scores, fit_time, n_parameters = cross_validate(estimator, X, Y, folds)
        rows.append((name, scores, fit_time, n_parameters, delta_m(scores, single)))
        print(f"  {name}: {time.perf_counter() - start:.0f} s", flush=True)
    single_name = "single-task MLP (256, 256) x4"
    rows.append(
        (
            single_name,
            single,
            comparison.single_task_fit_time,
            comparison.single_task_n_parameters,
            None,
        )
    )
    linear = MultiOutputClassifier(LogisticRegression(max_iter=2000))
    scores, fit_time, n_parameters = cross_validate(linear, X, Y, folds)
    rows.append(
        ("MultiOutput(LogisticRegression)", scores, fit_time, n_parameters,
         delta_m(scores, single))
    )
    print()
    print(format_table(rows, args.folds, single_name))


if __name__ == "__main__":
    main()
