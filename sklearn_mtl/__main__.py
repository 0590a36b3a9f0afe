"""``python -m sklearn_mtl``: one multi-task network vs one model per task.

Builds four tasks from scikit-learn's bundled handwritten digits (digit,
parity, digit >= 5, number of closed loops) and cross-validates
``MultiTaskClassifier`` on the same folds as (1) one logistic regression per
task, i.e. ``MultiOutputClassifier(LogisticRegression())``, and (2) one
single-task network of the same configuration per task. Prints per-task
accuracy, fit time and parameter count.
"""

import argparse
import sys

import torch
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from . import MultiTaskClassifier, __version__
from .datasets import load_digits_multitask
from .model_selection import compare_single_task


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m sklearn_mtl", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--folds", type=int, default=5, help="cross-validation folds")
    parser.add_argument("--max-iter", type=int, default=200, help="epochs at most")
    parser.add_argument(
        "--skip-single-task-nets", action="store_true",
        help="only compare with logistic regression (faster)",
    )
    args = parser.parse_args(argv)

    X, Y = load_digits_multitask(as_frame=False)
    tasks = ["digit", "parity", "ge5", "loops"]
    cv = KFold(args.folds, shuffle=True, random_state=0)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    print(
        f"sklearn_mtl {__version__} | digits: {X.shape[0]} images, {len(tasks)} tasks "
        f"{tasks} | {args.folds}-fold CV | device: {device}\n"
    )
    multitask = make_pipeline(
        StandardScaler(), MultiTaskClassifier(max_iter=args.max_iter, random_state=0)
    )
    logistic = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))

    print("1) vs one logistic regression per task (= MultiOutputClassifier(LogisticRegression()))")
    print(compare_single_task(multitask, X, Y, baseline=logistic, cv=cv, task_names=tasks))
    if not args.skip_single_task_nets:
        print("\n2) vs one network per task (same configuration, trained on that task alone)")
        print(compare_single_task(multitask, X, Y, cv=cv, task_names=tasks))
    print(
        "\nFit time: all folds (and tasks) together. Parameters: one fitted multi-task "
        "model vs the single-task models of all tasks."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
