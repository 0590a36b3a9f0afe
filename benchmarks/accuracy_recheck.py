"""Rerun the default estimator ("d03") of the accuracy suite on some problems
under the current code, and compare with the cached figures (which are left
as they are): after a change that must not change training, every fold's
every task accuracy should be identical.

    OMP_NUM_THREADS=1 python benchmarks/accuracy_recheck.py wine,cancer,diabetes
"""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import accuracy  # noqa: E402


def main(problems, label="d03"):
    accuracy._save = lambda new: None  # compare only: the cache stays as it is
    cache = accuracy._load()
    model = accuracy.candidates()[label]
    for problem in problems:
        before = accuracy.evaluate(problem, model, cache, cached_only=True)
        after = accuracy.evaluate(problem, model, {})
        now = np.asarray(after["accuracy"])
        if before is None:
            print(f"{problem:<16} not cached   now {now.mean():.4f}", flush=True)
            continue
        cached = np.asarray(before["accuracy"])
        same = cached.shape == now.shape and np.array_equal(cached, now)
        print(f"{problem:<16} cached {cached.mean():.4f}  now {now.mean():.4f}  "
              f"identical per fold and task: {same}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1].split(",") if len(sys.argv) > 1 else ["wine", "cancer", "diabetes"])
