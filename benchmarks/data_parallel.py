"""One fit in one process against the same fit data-parallel over two gloo processes.
(Named data_parallel.py: a benchmarks/distributed.py would shadow the package
"distributed" of Dask for the other scripts here.)

Run from the repository root::

    OMP_NUM_THREADS=1 python benchmarks/data_parallel.py [--rows 200000]

The data (``--rows`` x 64 float32 features, 4 binary tasks with 20 % of the
labels missing) is written once to ``.npy`` files that every process memory-maps,
as a user would share one file between processes. For each batch size (the
global batch: 1024 and 4096), one fit of 3 epochs without early stopping runs
in one process, then in two processes that join a gloo group on loopback
(``torch.distributed``), each with one torch thread. The table gives the wall
time of the fit (the slowest process), rows trained per second (rows x epochs
/ wall time), and the largest absolute difference of ``predict_proba`` on the
first 10,000 rows between the two fits (they train the same model up to
rounding). For scale, "1 ulp of X" is the same difference between two
one-process fits whose only difference is ``X`` moved by one float32 step
(``np.nextafter``): how far rounding-sized differences carry over the fit.
The last line gives the latency of one all_reduce between the processes,
which each step pays twice.

Two processes can be at most twice as fast, and only with a core each: on a
machine shared with other work, the figures say little about the method.
"""

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
N_FEATURES, N_TASKS, EPOCHS, N_PREDICT = 64, 4, 3, 10_000
BATCH_SIZES = (1024, 4096)


def make_files(directory, n_rows):
    rng = np.random.RandomState(0)
    X = rng.standard_normal((n_rows, N_FEATURES)).astype(np.float32)
    coef = rng.standard_normal((N_FEATURES, N_TASKS)) / np.sqrt(N_FEATURES)
    Y = (X @ coef + 0.5 * rng.standard_normal((n_rows, N_TASKS)) > 0).astype(float)
    Y[rng.rand(n_rows, N_TASKS) < 0.2] = np.nan
    np.save(directory / "X.npy", X)
    np.save(directory / "Y.npy", Y)
    # the reference for rounding: X moved by one float32 step (ulp) everywhere
    np.save(directory / "X_nudged.npy", np.nextafter(X, np.float32(np.inf)))


def worker(rank, world, port, batch_size, directory, nudged=False):
    """One process's fit; rank 0 writes its time and probabilities (``nudged``:
    one process trained on ``X_nudged.npy``)."""
    import torch

    torch.set_num_threads(1)
    sys.path.insert(0, str(ROOT))
    from sklearn_mtl import MultiTaskClassifier

    if world > 1:
        torch.distributed.init_process_group(
            "gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world
        )
    X = np.load(directory / ("X_nudged.npy" if nudged else "X.npy"), mmap_mode="r")
    Y = np.load(directory / "Y.npy", mmap_mode="r")
    model = MultiTaskClassifier(
        hidden_layer_sizes=(256, 256), batch_size=batch_size, max_iter=EPOCHS,
        early_stopping=False, ensemble_size=1, random_state=0, device="cpu",
    )
    if world > 1:
        torch.distributed.barrier()
        if rank == 0:
            (directory / "latency.txt").write_text(repr(_all_reduce_ms()))
        else:
            _all_reduce_ms()
    start = time.perf_counter()
    model.fit(X, Y)
    elapsed = time.perf_counter() - start
    if world > 1:
        # the fit ends when the slowest process ends
        slowest = torch.tensor([elapsed], dtype=torch.float64)
        torch.distributed.all_reduce(slowest, op=torch.distributed.ReduceOp.MAX)
        elapsed = float(slowest)
        torch.distributed.destroy_process_group()
    if rank == 0:
        X_test = np.load(directory / "X.npy", mmap_mode="r")[:N_PREDICT]
        proba = np.concatenate(model.predict_proba(np.asarray(X_test)), axis=1)
        tag = "nudged" if nudged else world
        np.save(directory / f"proba-{tag}-{batch_size}.npy", proba)
        if nudged:
            return
        (directory / f"time-{world}-{batch_size}.txt").write_text(repr(elapsed))


def _all_reduce_ms(repeats=200):
    """Milliseconds of one all_reduce of 8 floats in the group (its latency)."""
    import torch

    value = torch.zeros(8)
    for _ in range(20):
        torch.distributed.all_reduce(value)
    torch.distributed.barrier()
    start = time.perf_counter()
    for _ in range(repeats):
        torch.distributed.all_reduce(value)
    return (time.perf_counter() - start) / repeats * 1e3


def run(world, batch_size, directory, nudged=False):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    processes = [
        subprocess.Popen(
            [sys.executable, "-W", "ignore", __file__, "--worker", str(rank), str(world),
             str(port), str(batch_size), str(directory), str(int(nudged))],
            env=env,
        )
        for rank in range(world)
    ]
    for p in processes:
        if p.wait() != 0:
            raise SystemExit(f"a worker failed (exit status {p.returncode})")
    if nudged:
        return None
    return float((directory / f"time-{world}-{batch_size}.txt").read_text())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--worker", nargs=6, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        rank, world, port, batch_size, directory, nudged = args.worker
        worker(int(rank), int(world), int(port), int(batch_size), Path(directory),
               bool(int(nudged)))
        return
    import torch

    with tempfile.TemporaryDirectory() as name:
        directory = Path(name)
        make_files(directory, args.rows)
        print(f"{args.rows} rows x {N_FEATURES} features, {N_TASKS} tasks, "
              f"hidden_layer_sizes=(256, 256), {EPOCHS} epochs, no early stopping, "
              f"CPU, one torch thread per process, torch {torch.__version__}, "
              f"{os.cpu_count()} cores")
        header = (f"{'batch':>6} {'processes':>9} {'wall s':>8} {'rows/s':>10} "
                  f"{'speed-up':>8} {'max |dproba|':>13} {'1 ulp of X':>11}")
        print(header)
        print("-" * len(header))
        latencies = []
        for batch_size in BATCH_SIZES:
            one = run(1, batch_size, directory)
            two = run(2, batch_size, directory)
            latencies.append(float((directory / "latency.txt").read_text()))
            run(1, batch_size, directory, nudged=True)
            reference = np.load(directory / f"proba-1-{batch_size}.npy")
            difference = np.abs(reference
                                - np.load(directory / f"proba-2-{batch_size}.npy")).max()
            rounding = np.abs(reference
                              - np.load(directory / f"proba-nudged-{batch_size}.npy")).max()
            for world, seconds in ((1, one), (2, two)):
                rate = args.rows * EPOCHS / seconds
                extra = f"{one / seconds:>8.2f} " + (
                    f"{difference:>13.2e} {rounding:>11.2e}" if world == 2 else f"{'':>13}")
                print(f"{batch_size:>6} {world:>9} {seconds:>8.2f} {rate:>10,.0f} {extra}")
        print(f"one all_reduce of 8 floats between the two processes (before each fit): "
              f"{', '.join(f'{ms:.2f}' for ms in latencies)} ms; a data-parallel step "
              "makes two all_reduces")


if __name__ == "__main__":
    main()
