"""Serving speed: onnxruntime against ``predict_proba`` in Python, on the CPU.

Run from the repository root, with the machine otherwise idle::

    OMP_NUM_THREADS=1 python benchmarks/serving.py            # about a minute
    OMP_NUM_THREADS=1 python benchmarks/serving.py --quick    # a smoke run

(with ``PYTHONPATH=.`` if the package is not installed; needs the ``deploy``
extra). One default ``MultiTaskClassifier`` (hidden layers (256, 256), a
packed ensemble of 4 members) and one single network (``ensemble_size=1``)
are fitted on a 4-task problem of 32 features, exported with
:func:`sklearn_mtl.onnx.to_onnx`, and timed answering 1 row (a request) and
10,000 rows (a batch): ``predict_proba`` in Python (input validation, skorch,
torch) against an onnxruntime session on the same rows (``session.run`` for
every output: labels and probabilities). Every time is the median of
``--repeats`` calls after a warm-up; both sides run one intra-op thread
(``--threads``). The table also reports the largest probability difference.
"""

import argparse
import platform
import statistics
import time
import warnings

import numpy as np
import onnxruntime as ort
import sklearn
import torch

import sklearn_mtl
from sklearn_mtl import MultiTaskClassifier
from sklearn_mtl.datasets import make_multitask_classification
from sklearn_mtl.onnx import to_onnx


def _median_seconds(function, repeats):
    function()  # warm-up: allocations, lazy initialisation
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _session(model, threads):
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return ort.InferenceSession(model.SerializeToString(), options,
                                providers=["CPUExecutionProvider"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="tiny networks, few repeats")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    repeats = 5 if args.quick else args.repeats
    X, Y = make_multitask_classification(n_samples=12_000, n_features=32, n_tasks=4,
                                         random_state=0)
    X = X.astype(np.float32)
    X_train, Y_train, X_serve = X[:2000], Y[:2000], X[2000:]
    hidden = (32,) if args.quick else (256, 256)
    models = {
        "default (4 members)": MultiTaskClassifier(hidden_layer_sizes=hidden, max_iter=5,
                                                   random_state=0),
        "ensemble_size=1": MultiTaskClassifier(hidden_layer_sizes=hidden, max_iter=5,
                                               ensemble_size=1, random_state=0),
    }
    print(f"sklearn_mtl {sklearn_mtl.__version__} | torch {torch.__version__} | "
          f"onnxruntime {ort.__version__} | scikit-learn {sklearn.__version__} | "
          f"{platform.machine()}, {args.threads} thread(s) | median of {repeats} calls")
    print()
    header = (f"{'model':<22}{'rows':>7}{'predict_proba':>16}{'onnxruntime':>14}"
              f"{'speed-up':>10}{'max |dp|':>11}")
    print(header)
    print("-" * len(header))
    for name, clf in models.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clf.fit(X_train, Y_train)
            session = _session(to_onnx(clf), args.threads)
        n_tasks = clf.n_tasks_
        for rows in (1, 10_000):
            batch = np.ascontiguousarray(X_serve[:rows])
            python = _median_seconds(lambda b=batch, c=clf: c.predict_proba(b), repeats)
            onnx = _median_seconds(lambda b=batch, s=session: s.run(None, {"X": b}), repeats)
            outputs = session.run(None, {"X": batch})[n_tasks:]
            gap = max(np.abs(p - o).max() for p, o in zip(clf.predict_proba(batch), outputs))
            print(f"{name:<22}{rows:>7}{_ms(python):>16}{_ms(onnx):>14}"
                  f"{python / onnx:>9.1f}x{gap:>11.1e}")


def _ms(seconds):
    return f"{seconds * 1e3:.3f} ms"


if __name__ == "__main__":
    main()
