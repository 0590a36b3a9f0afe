"""What the skorch callback hooks cost a fit.

Run from the repository root, with the machine otherwise idle::

    OMP_NUM_THREADS=1 PYTHONPATH=. python benchmarks/callback_overhead.py
    # against another checkout of the package (e.g. the commit before the hooks):
    OMP_NUM_THREADS=1 PYTHONPATH=. python benchmarks/callback_overhead.py --baseline /tmp/old

Each variant is a ``MultiTaskClassifier.fit`` on the same data, with the same
seed, in a worker process of its own (started once, warmed up by one fit; the
package imported there from ``--baseline`` or from this checkout), so that
every variant pays the same for its process (a process that has run other fits
times differently). The variants are
timed one after the other in every repeat, in a rotating order, so that a slow
moment of the machine hits them all; the table shows the median time of each
and the median over repeats of its ratio to ``none`` (no callback) timed in the
same repeat.

Variants:

* ``none``: no user callback (the per-batch hooks are skipped).
* ``epoch-only``: a callback that overrides only ``on_epoch_end``.
* ``batch-listener``: a callback that overrides ``on_batch_begin``,
  ``on_batch_end`` and ``on_grad_computed`` and does nothing in them (the
  loop then notifies every batch and records the per-batch loss).
* ``baseline``: with ``--baseline``, the other checkout without callbacks.
"""

import argparse
import json
import os
import subprocess
import sys

WORKER = r'''
import json, sys, time, warnings
import numpy as np, torch
torch.set_num_threads(1)
warnings.simplefilter("ignore")
from sklearn_mtl import MultiTaskClassifier
from sklearn_mtl.datasets import make_multitask_classification
rows, epochs, batch = map(int, sys.argv[1:4])
X, Y = make_multitask_classification(n_samples=rows, n_features=32, n_tasks=4,
                                     random_state=0)
X = X.astype(np.float32)
try:
    from skorch.callbacks import Callback
except ImportError:
    Callback = object

class EpochOnly(Callback):
    def on_epoch_end(self, net, **kwargs):
        pass

class BatchListener(Callback):
    def on_batch_begin(self, net, **kwargs):
        pass
    def on_batch_end(self, net, **kwargs):
        pass
    def on_grad_computed(self, net, named_parameters, **kwargs):
        pass

def fit(variant):
    params = dict(max_iter=epochs, batch_size=batch, early_stopping=False,
                  n_iter_no_change=epochs + 1, random_state=0)
    if variant == "epoch-only":
        params["callbacks"] = [EpochOnly()]
    elif variant == "batch-listener":
        params["callbacks"] = [BatchListener()]
    clf = MultiTaskClassifier(**params)
    start = time.perf_counter()
    clf.fit(X, Y)
    return time.perf_counter() - start

fit(sys.argv[4])  # warm-up with the worker's own variant: imports, allocator
print("ready", flush=True)
for line in sys.stdin:
    print(json.dumps(fit(line.strip())), flush=True)
'''


class Worker:
    def __init__(self, path, args, variant):
        env = {**os.environ, "PYTHONPATH": os.path.abspath(path), "OMP_NUM_THREADS": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-c", WORKER, str(args.rows), str(args.epochs),
             str(args.batch_size), variant],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env,
        )
        assert self.process.stdout.readline().strip() == "ready"

    def fit(self, variant):
        self.process.stdin.write(variant + "\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())

    def close(self):
        self.process.stdin.close()
        self.process.wait()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--baseline", help="another checkout's root to compare with")
    args = parser.parse_args()

    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    runs = [(variant, Worker(here, args, variant), variant)
            for variant in ("none", "epoch-only", "batch-listener")]
    if args.baseline:
        runs.append(("baseline", Worker(args.baseline, args, "none"), "none"))
    workers = [worker for _, worker, _ in runs]
    times = {name: [] for name, _, _ in runs}
    ratios = {name: [] for name, _, _ in runs}
    for repeat in range(args.repeats):
        order = runs[repeat % len(runs):] + runs[:repeat % len(runs)]
        this = {name: worker.fit(variant) for name, worker, variant in order}
        for name in this:
            times[name].append(this[name])
            ratios[name].append(this[name] / this["none"])
    for worker in workers:
        worker.close()

    def median(values):
        values = sorted(values)
        n = len(values)
        return values[n // 2] if n % 2 else 0.5 * (values[n // 2 - 1] + values[n // 2])

    print(f"{args.rows} rows x 32 features, 4 tasks, default network, {args.epochs} "
          f"epochs, batch {args.batch_size}, {args.repeats} interleaved repeats, "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}")
    print(f"| {'variant':15s} | median fit (s) | ratio to none (median) | range of ratios |")
    print(f"| {'-' * 15} | -------------- | ---------------------- | --------------- |")
    for name, _, _ in runs:
        r = ratios[name]
        print(f"| {name:15s} | {median(times[name]):14.3f} | {median(r):22.3f} | "
              f"{min(r):.3f}-{max(r):.3f}     |")


if __name__ == "__main__":
    main()
