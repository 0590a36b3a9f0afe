"""Training throughput and memory from memory, a memory map and a Dask array.

The same float32 data (``--rows`` x 64 features, 4 binary tasks) is written
once to a file; each source then trains in a fresh child process (batch 1024,
``--epochs`` epochs, no early stopping) and reports its training rows/s and its
peak anonymous memory (``RssAnon`` sampled every 10 ms: a memory map's cached
pages count in RSS, not in anonymous memory). Sources: ``memory`` (the file
read into an array), ``memmap`` (``np.memmap``), ``dask`` (a Dask array with
one block of 65,536 rows per ``np.memmap`` slice, threaded scheduler) and
``dask-cluster`` (the same on a ``distributed.LocalCluster`` of one worker,
one thread, in the process).

    OMP_NUM_THREADS=1 python benchmarks/out_of_core.py [--rows 2000000] [--epochs 1]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

N_FEATURES, N_TASKS, BLOCK_ROWS = 64, 4, 65_536
SOURCES = ("memory", "memmap", "dask", "dask-cluster")


def write_data(path, n_rows):
    X = np.memmap(path, dtype=np.float32, mode="w+", shape=(n_rows, N_FEATURES))
    rng = np.random.default_rng(0)
    for start in range(0, n_rows, 262_144):
        X[start:start + 262_144] = rng.standard_normal(
            (min(262_144, n_rows - start), N_FEATURES), dtype=np.float32)
    X.flush()


def child(source, path, n_rows, epochs):
    import threading

    import torch  # noqa: F401

    from sklearn_mtl import MultiTaskClassifier

    def anon():
        for line in open("/proc/self/status"):
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) * 1024

    peak = [anon()]

    def sample():
        while True:
            peak[0] = max(peak[0], anon())
            time.sleep(0.01)

    threading.Thread(target=sample, daemon=True).start()
    X = np.memmap(path, dtype=np.float32, mode="r", shape=(n_rows, N_FEATURES))
    weights = np.random.default_rng(1).standard_normal((N_FEATURES, N_TASKS))
    Y = np.concatenate([(X[s:s + BLOCK_ROWS] @ weights > 0) for s in range(0, n_rows, BLOCK_ROWS)])
    client = None
    if source == "memory":
        X = np.array(X)
    elif source.startswith("dask"):
        import dask
        import dask.array as da

        if source == "dask-cluster":
            import distributed

            client = distributed.Client(distributed.LocalCluster(
                n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None))
        # one np.memmap slice per block (da.from_array would copy the memmap)
        load = dask.delayed(lambda a, b: np.memmap(
            path, dtype=np.float32, mode="r", shape=(n_rows, N_FEATURES))[a:b])
        X = da.concatenate([
            da.from_delayed(load(a, min(a + BLOCK_ROWS, n_rows)),
                            (min(a + BLOCK_ROWS, n_rows) - a, N_FEATURES), np.float32)
            for a in range(0, n_rows, BLOCK_ROWS)])
    clf = MultiTaskClassifier(hidden_layer_sizes=(64,), ensemble_size=1, batch_size=1024,
                              max_iter=epochs, early_stopping=False, random_state=0)
    start = time.perf_counter()
    clf.fit(X, Y)
    seconds = time.perf_counter() - start
    accuracy = float((clf.predict(X[:100_000]) == Y[:100_000]).mean())
    time.sleep(0.05)
    if client is not None:
        client.close()
    print(json.dumps(dict(source=source, rows_per_s=n_rows * epochs / seconds,
                          seconds=seconds, peak_anon_mb=peak[0] / 2**20,
                          accuracy=accuracy)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--sources", nargs="+", default=list(SOURCES), choices=SOURCES)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1], args.rows, args.epochs)
        return
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"))
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "X.f32")
        write_data(path, args.rows)
        print(f"{args.rows:,} rows x {N_FEATURES} float32 features "
              f"({args.rows * N_FEATURES * 4 / 2**20:,.0f} MiB), {N_TASKS} tasks, batch 1024, "
              f"{args.epochs} epoch(s), hidden (64,), one process per source, "
              f"OMP_NUM_THREADS={env['OMP_NUM_THREADS']}\n")
        print(f"{'source':<14}{'rows/s':>12}{'fit s':>9}{'peak anon MiB':>16}{'accuracy':>10}")
        for source in args.sources:
            done = subprocess.run(
                [sys.executable, __file__, "--rows", str(args.rows), "--epochs",
                 str(args.epochs), "--child", source, path],
                capture_output=True, text=True, env=env)
            if done.returncode:
                print(f"{source:<14} failed: {done.stderr.strip().splitlines()[-1]}")
                continue
            r = json.loads(done.stdout.strip().splitlines()[-1])
            print(f"{source:<14}{r['rows_per_s']:>12,.0f}{r['seconds']:>9.1f}"
                  f"{r['peak_anon_mb']:>16,.0f}{r['accuracy']:>10.3f}")


if __name__ == "__main__":
    main()
