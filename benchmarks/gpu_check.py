"""GPU check: a model trained on CUDA pickles, loads and predicts on a CPU-only process.

Run on a machine with a GPU (see DEVELOPERS.md for carrying skorch there)::

    PYTHONPATH=/tmp/site:. python3 benchmarks/gpu_check.py

It trains ``MultiTaskClassifier`` on CUDA (with early stopping, class
weights and a user ``LRScheduler``, so that callbacks and weights are
exercised), pickles it, loads the
pickle in a fresh Python process with ``CUDA_VISIBLE_DEVICES=""`` and checks
that the CPU predictions equal the CUDA ones, then continues training it there
(``warm_start``: the optimizer state, fused AdamW on CUDA, must load on a CPU).
Without CUDA it says so and checks the same round trip on the CPU.
"""

import os
import pickle
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

from sklearn_mtl import MultiTaskClassifier
from sklearn_mtl.datasets import load_digits_multitask

LOADER = r"""
import pickle, sys, warnings
import numpy as np, torch
assert not torch.cuda.is_available(), "CUDA should be hidden in this process"
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    with open(sys.argv[1], "rb") as f:
        clf = pickle.load(f)
X = np.load(sys.argv[2])
np.save(sys.argv[3], np.concatenate(clf.predict_proba(X), axis=1))
print("loaded on", next(clf.net_.module_.parameters()).device,
      "| warnings:", sorted({type(w.message).__name__ for w in caught}) or "none")
fused = clf.net_.optimizer_.defaults.get("fused")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    clf.set_params(warm_start=True, max_iter=2).fit(X, np.load(sys.argv[4]))
print(f"warm_start on the CPU (AdamW fused={fused}): {clf.n_iter_} epochs in all")
"""


def main():
    cuda = torch.cuda.is_available()
    device = "cuda" if cuda else "cpu"
    print(f"torch {torch.__version__} | device: "
          f"{torch.cuda.get_device_name(0) if cuda else 'cpu (no CUDA: CPU round trip only)'}")
    X, Y = load_digits_multitask(as_frame=False)
    X = (X / 16).astype(np.float32)
    from skorch.callbacks import LRScheduler

    # an LRScheduler holds the optimizer (DESIGN.md's trap: its CUDA state must
    # load on a CPU-only machine)
    clf = MultiTaskClassifier(
        max_iter=30, early_stopping=True, class_weight="balanced", device=device,
        random_state=0, callbacks=[LRScheduler(policy="StepLR", step_size=5)],
    )
    start = time.perf_counter()
    clf.fit(X, Y)
    print(f"fit on {clf.device_}: {time.perf_counter() - start:.2f} s, {clf.n_iter_} epochs")
    expected = np.concatenate(clf.predict_proba(X), axis=1)

    with tempfile.TemporaryDirectory() as tmp:
        model, data, out, labels = (
            os.path.join(tmp, n) for n in ("m.pkl", "X.npy", "P.npy", "Y.npy")
        )
        with open(model, "wb") as f:
            pickle.dump(clf, f)
        np.save(data, X)
        np.save(labels, Y)
        env = dict(os.environ, CUDA_VISIBLE_DEVICES="")
        result = subprocess.run(
            [sys.executable, "-c", LOADER, model, data, out, labels],
            env=env, capture_output=True, text=True,
        )
        print(result.stdout.strip())
        if result.returncode != 0:
            print("FAIL: loading on the CPU raised\n" + result.stderr[-3000:])
            return 1
        got = np.load(out)
    diff = float(np.abs(got - expected).max())
    same_labels = bool(np.all(got.argmax(1) == expected.argmax(1)))
    ok = diff < 1e-4
    print(f"max |proba_cpu - proba_{device}| = {diff:.2e}; "
          f"argmax identical: {same_labels} -> {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
