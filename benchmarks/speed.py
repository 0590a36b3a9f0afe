"""Training speed, memory and scaling of MultiTaskClassifier.

Run from the repository root, with the machine otherwise idle::

    OMP_NUM_THREADS=1 python benchmarks/speed.py            # about 4-5 minutes on 2 CPUs
    OMP_NUM_THREADS=1 python benchmarks/speed.py --quick    # a smoke run
    OMP_NUM_THREADS=1 python benchmarks/speed.py --large    # adds 10^6 rows to part C
    OMP_NUM_THREADS=2 python benchmarks/speed.py --parts d  # the cost of each option

(with ``PYTHONPATH=.`` if the package is not installed). Three tables, on the
CPU and, when torch sees one, on a CUDA device too (``--device``):

A. ``MultiTaskClassifier.fit`` next to the same training written as a plain
   PyTorch loop in this script (same network, optimizer, data, epochs and
   batch size; tensors pre-loaded) and next to scikit-learn's
   ``MLPClassifier`` (same hidden layers, Adam, epochs and batch size).
B. One multi-task model next to one model per task (ours on each task, and
   ``MultiOutputClassifier(MLPClassifier)``): fit and predict time,
   parameters, peak memory and held-out accuracy.
C. Fit time per epoch and peak memory as the number of rows grows, and
   whether the training tensor is the caller's ``X`` or a copy of it.
D. What each option of the estimator costs on one network (20,000 rows, 10
   epochs, on 1 and 2 threads), and the default estimator, next to the
   plain loop.

Every time is the median of ``--repeats`` runs. A ratio compares two models
timed one right after the other in the same repeat (the order rotates between
repeats) and is the median of the per-repeat ratios, so that a slow moment of
the machine hits both sides. A ratio is a ratio of times: below 1 means ours is
faster. The data come from :func:`sklearn_mtl.datasets.make_multitask_classification`.

Torch runs ``--threads`` intra-op threads (default 1; 0 keeps torch's
default), and scikit-learn's BLAS the same number (threadpoolctl).
"""

import argparse
import ctypes
import gc
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import sklearn
import skorch
import torch
import torch.nn.functional as F
from sklearn.exceptions import ConvergenceWarning
from sklearn.multioutput import MultiOutputClassifier
from sklearn.neural_network import MLPClassifier
from threadpoolctl import threadpool_limits
from torch import nn

from sklearn_mtl import MultiTaskClassifier
from sklearn_mtl._net import MultiTaskNet
from sklearn_mtl.datasets import make_multitask_classification

# The estimator's defaults, which the plain loop and MLPClassifier copy.
DEFAULTS = MultiTaskClassifier().get_params()
HIDDEN = tuple(DEFAULTS["hidden_layer_sizes"])
DROPOUT = DEFAULTS["dropout"]
LR = DEFAULTS["learning_rate_init"]
WEIGHT_DECAY = DEFAULTS["weight_decay"]
N_FEATURES = 64


# ------------------------------------------------------------------ helpers
def _sync(device):
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def timed(function, *args, device="cpu"):
    """(seconds, result) of ``function(*args)``, waiting for the device to finish."""
    _sync(device)
    start = time.perf_counter()
    result = function(*args)
    _sync(device)
    return time.perf_counter() - start, result


def make_data(n_samples, n_tasks, seed=0):
    """Float32 C-contiguous X (what the estimator trains on) and int64 Y."""
    X, Y = make_multitask_classification(
        n_samples, N_FEATURES, n_tasks, n_informative=10, relatedness=0.8, noise=0.1,
        random_state=seed,
    )
    return np.ascontiguousarray(X, dtype=np.float32), Y


# The engine is compared with a plain loop training one network: the default
# ensemble (4 members), label smoothing and input scaling are switched off.
ONE_NETWORK = dict(ensemble_size=1, label_smoothing=0.0, input_scaling=None)


def ours(batch_size, epochs, device, **params):
    return MultiTaskClassifier(
        batch_size=batch_size, max_iter=epochs, tol=0.0, device=device, random_state=0,
        early_stopping=False,  # fixed epochs on all rows, like the loops it is compared with
        **{**ONE_NETWORK, **params},
    )


def mlp(batch_size, epochs):
    return MLPClassifier(
        HIDDEN, solver="adam", learning_rate_init=LR, batch_size=batch_size, max_iter=epochs,
        tol=0.0, n_iter_no_change=epochs, early_stopping=False, random_state=0,
    )


def plain_fit(X, Y, batch_size, epochs, device, seed=0):
    """The estimator's training as a bare PyTorch loop.

    ``X`` (float32) and ``Y`` (int64 class indices, every task with the same
    number of classes) are tensors already on ``device``. Same network as
    the estimator's default (MLP, ReLU, dropout, one fused linear layer for all
    tasks' logits), AdamW with the same learning rate and weight decay,
    shuffled every epoch, loss = sum over tasks of each task's mean
    cross-entropy.
    """
    n, n_tasks = Y.shape
    n_classes = int(Y.max()) + 1
    torch.manual_seed(seed)
    layers, width = [], X.shape[1]
    for size in HIDDEN:
        layers += [nn.Linear(width, size), nn.ReLU(), nn.Dropout(DROPOUT)]
        width = size
    layers.append(nn.Linear(width, n_tasks * n_classes))
    net = nn.Sequential(*layers).to(device).train()
    optimizer = torch.optim.AdamW(net.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)
    generator = torch.Generator(device=device).manual_seed(seed)
    for _ in range(epochs):
        order = torch.randperm(n, generator=generator, device=device)
        for start in range(0, n, batch_size):
            index = order[start : start + batch_size]
            logits = net(X[index]).view(len(index) * n_tasks, n_classes)
            loss = F.cross_entropy(logits, Y[index].reshape(-1), reduction="sum") / len(index)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    return net


def _proc_status(field):
    """A ``/proc/self/status`` memory field in bytes (Linux), or None."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def current_rss():
    """Resident memory of this process now, in bytes."""
    rss = _proc_status("VmRSS")
    return rss if rss is not None else peak_rss()


def peak_rss():
    """Peak resident memory of this process since start or :func:`reset_peak`.

    ``VmHWM``, the counter ``getrusage``'s ``ru_maxrss`` reports, read without
    the peak ``ru_maxrss`` inherits from the parent across fork and exec; plain
    ``ru_maxrss`` where there is no ``/proc``.
    """
    peak = _proc_status("VmHWM")
    if peak is not None:
        return peak
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def reset_peak():
    """Set the peak to the current RSS (Linux >= 4.0); False where impossible."""
    gc.collect()
    try:  # hand freed heap memory back, so that the RSS is what is alive
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    return peak_rss() - current_rss() < 2**20


def n_parameters(model):
    if isinstance(model, MultiTaskClassifier):
        return model.n_parameters_
    if isinstance(model, MLPClassifier):
        return sum(w.size for w in model.coefs_ + model.intercepts_)
    if isinstance(model, MultiOutputClassifier):
        return sum(n_parameters(m) for m in model.estimators_)
    return sum(n_parameters(m) for m in model)


def mb(n_bytes):
    return n_bytes / 2**20


def median_ratio(a, b):
    return float(np.median(np.asarray(a) / np.asarray(b)))


def run_child(config, threads):
    """Run one configuration in a fresh process; return its JSON result."""
    command = [sys.executable, __file__, "--threads", str(threads), "--child", json.dumps(config)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"child {config} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# ------------------------------------------------- A: ours vs plain vs MLP
def part_a(args, device):
    n, n_tasks, epochs = args.a_samples, 8, args.epochs
    X, Y = make_data(n, n_tasks)
    Xt, Yt = torch.from_numpy(X).to(device), torch.from_numpy(Y).to(device)
    candidates = {
        "ours": lambda bs: ours(bs, epochs, device).fit(X, Y),
        "ours d=.1": lambda bs: ours(bs, epochs, device, dropout=0.1).fit(X, Y),
        "plain": lambda bs: plain_fit(Xt, Yt, bs, epochs, device),
    }
    if device == "cpu":  # MLPClassifier has no device: its figures are the CPU table's
        candidates["MLP"] = lambda bs: mlp(bs, epochs).fit(X, Y)
    # first calls pay one-off initialisations (thread pools, kernels): not timed
    for fit in candidates.values():
        fit(256)

    print(
        f"A. fit: {n:,} rows x {N_FEATURES} features, {n_tasks} binary tasks, {epochs} epochs, "
        f"median of {args.repeats} runs | {device}\n"
        f"   ours     = MultiTaskClassifier (defaults: MLP {HIDDEN}, ReLU, dropout {DROPOUT}, "
        f"AdamW lr {LR:g}, weight decay {WEIGHT_DECAY:g}), float32 X\n"
        "   ours d=.1 = the same with dropout=0.1 (the default of 0.1.0; MLPClassifier has "
        "no dropout)\n"
        "   plain    = the same network and training as a bare PyTorch loop, tensors "
        "pre-loaded\n"
        "   MLP      = MLPClassifier, same hidden layers, adam, same lr, epochs and batch; "
        f"on the {n_tasks}-column\n"
        f"              multilabel-indicator Y ({n_tasks} sigmoid outputs, not "
        f"{2 * n_tasks} logits)"
    )
    names = list(candidates)
    header = f"{'batch':>6}" + "".join(f"{name + ' /s':>13}" for name in names)
    header += f"{'ours/plain':>12}"
    if "MLP" in names:
        header += f"{'ours/MLP':>10}{'d=.1/MLP':>10}"
    print(
        "   samples per second (rows x epochs / median fit time); ratios: median over "
        "repeats of the ratio\n   of the two fit times in that repeat (< 1: ours faster)\n"
    )
    print(header)
    print("-" * len(header))
    results = {}
    for batch_size in args.batch_sizes:
        times = {name: [] for name in names}
        for repeat in range(args.repeats):
            shift = repeat % len(names)
            for name in names[shift:] + names[:shift]:
                seconds, _ = timed(candidates[name], batch_size, device=device)
                times[name].append(seconds)
        line = f"{batch_size:>6}" + "".join(
            f"{n * epochs / np.median(times[name]):>13,.0f}" for name in names
        )
        ratios = {"ours/plain": median_ratio(times["ours"], times["plain"])}
        line += f"{ratios['ours/plain']:>11.2f}x"
        if "MLP" in names:
            ratios["ours/MLP"] = median_ratio(times["ours"], times["MLP"])
            ratios["d=.1/MLP"] = median_ratio(times["ours d=.1"], times["MLP"])
            line += f"{ratios['ours/MLP']:>9.2f}x{ratios['d=.1/MLP']:>9.2f}x"
        print(line)
        results[batch_size] = ratios
    worst = max(r["ours/plain"] for r in results.values())
    verdict = "met" if worst <= 1.15 else f"missed by {worst / 1.15 - 1:.0%}"
    print(f"\n   target ours <= 1.15x plain's time: worst {worst:.2f}x, {verdict}")
    if "MLP" in names:
        worst = max(r["ours/MLP"] for r in results.values())
        verdict = "met" if worst <= 1.0 else f"missed by {worst - 1:.0%}"
        print(f"   target ours not slower than MLPClassifier: worst {worst:.2f}x, {verdict}")
    print()


# ------------------------------------ B: one multi-task model vs one per task
MODELS_B = {
    "multi-task (ours)": "multi",
    "one per task (ours)": "single",
    "MultiOutput(MLP)": "multioutput",
}


def child_b(config):
    X, Y = np.load(config["X"]), np.load(config["Y"])
    n_train, device = config["n_train"], config["device"]
    X_train, Y_train, X_test, Y_test = X[:n_train], Y[:n_train], X[n_train:], Y[n_train:]
    bs, epochs, kind = config["batch_size"], config["epochs"], config["model"]

    def fit(X, Y):
        if kind == "multi":
            return ours(bs, epochs, device).fit(X, Y)
        if kind == "single":
            return [ours(bs, epochs, device).fit(X, y) for y in Y.T]
        return MultiOutputClassifier(mlp(bs, epochs)).fit(X, Y)

    def predict(model):
        if kind == "single":
            return np.column_stack([m.predict(X_test) for m in model])
        return model.predict(X_test)

    # A fresh process's first torch fit pays ~1.5 s of one-off initialisation:
    # pay it on a few rows first, outside the time and the memory figures. Keep
    # that model alive: the measured fit must not reuse the memory it would free.
    warm = fit(X[:64], Y[:64])  # noqa: F841
    reset = reset_peak()
    rss_before = current_rss()
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
        allocated_before = torch.cuda.memory_allocated()
    fit_times, predict_times = [], []
    for repeat in range(config["repeats"]):
        seconds, model = timed(fit, X_train, Y_train, device=device)
        fit_times.append(seconds)
        if repeat == 0:
            peak = peak_rss()
            if device.startswith("cuda"):
                cuda_peak = torch.cuda.max_memory_allocated() - allocated_before
        seconds, Y_pred = timed(predict, model, device=device)
        predict_times.append(seconds)
    result = {
        "fit": float(np.median(fit_times)),
        "predict": float(np.median(predict_times)),
        "params": int(n_parameters(model)),
        "memory": peak - rss_before,
        "peak_reset": reset,
        "accuracy": float((Y_pred == Y_test).mean()),
    }
    if device.startswith("cuda"):
        result["cuda_memory"] = cuda_peak
    return result


def part_b(args, device, folder):
    n_train, n_test, epochs = args.b_train, args.b_test, args.epochs
    memory = (
        "torch.cuda.max_memory_allocated during the first fit, minus what was allocated "
        "before"
        if device.startswith("cuda")
        else "peak RSS during the first fit (VmHWM, the counter behind getrusage's "
        "ru_maxrss, reset just before\n   fit through /proc/self/clear_refs) minus the RSS "
        "just before it; tracemalloc does not see torch's allocations"
    )
    print(
        f"B. one model for all tasks vs one per task: {n_train:,} training + {n_test:,} "
        f"held-out rows x {N_FEATURES} features, binary tasks (relatedness 0.8),\n"
        f"   {epochs} epochs, batch {args.b_batch}, same hidden layers {HIDDEN}; each "
        f"configuration in a fresh process, times median of {args.repeats} | {device}\n"
        f"   memory: {memory}.\n"
        "   Before that, the process has loaded the data and fitted the same kind of model "
        "on 64 rows (kept\n"
        "   alive), so that torch's one-off initialisation is neither timed nor counted. "
        "One per task: all\n"
        "   its models kept. Accuracy: mean over tasks on the held-out rows. fit vs multi: "
        "ratio of the medians.\n"
    )
    header = (
        f"{'tasks':>5}  {'model':<21}{'fit s':>8}{'predict s':>11}{'params':>12}"
        f"{'memory MB':>11}{'accuracy':>10}{'fit vs multi':>14}"
    )
    print(header)
    print("-" * len(header))
    speedups = {}
    for n_tasks in args.b_tasks:
        X, Y = make_data(n_train + n_test, n_tasks)
        paths = {"X": str(folder / f"b_X_{n_tasks}.npy"), "Y": str(folder / f"b_Y_{n_tasks}.npy")}
        np.save(paths["X"], X)
        np.save(paths["Y"], Y)
        results = {}
        for name, kind in MODELS_B.items():
            if kind == "multioutput" and device != "cpu":
                continue
            config = dict(
                part="b", model=kind, device=device, n_train=n_train, epochs=epochs,
                batch_size=args.b_batch, repeats=args.repeats, **paths,
            )
            results[name] = run_child(config, args.threads)
        multi = results["multi-task (ours)"]["fit"]
        for name, r in results.items():
            used = r.get("cuda_memory", r["memory"])
            print(
                f"{n_tasks:>5}  {name:<21}{r['fit']:>8.2f}{r['predict']:>11.3f}"
                f"{r['params']:>12,}{mb(used):>11.1f}{r['accuracy']:>10.3f}"
                f"{r['fit'] / multi:>13.1f}x"
            )
            if not r["peak_reset"] and "cuda_memory" not in r:
                print("       (the peak RSS could not be reset before fit: memory may be "
                      "underestimated)")
        speedups[n_tasks] = results["one per task (ours)"]["fit"] / multi
        print()
    if 8 in speedups:
        verdict = "met" if speedups[8] >= 4 else f"missed by {1 - speedups[8] / 4:.0%}"
        print(
            f"   target 8 tasks >= 4x faster than 8 single-task models (ours): "
            f"{speedups[8]:.1f}x, {verdict}\n"
        )


# ------------------------------------------------------------ C: scaling
def child_c(config):
    """Fit on X loaded from disk; report time per epoch, memory and whether the
    tensor the batches are sliced from shares the caller's buffer."""
    X, Y = np.load(config["X"]), np.load(config["Y"])
    if config["dtype"] == "float64":
        X = X.astype(np.float64)
    seen = []
    original = MultiTaskNet.prepare_data

    def spy(self, X, codes=None, sample_weight=None):
        data = original(self, X, codes, sample_weight)
        seen.append(data)
        return data

    MultiTaskNet.prepare_data = spy
    # one-off torch initialisation outside the figures, as in part B
    warm = ours(64, 1, "cpu").fit(X[:64], Y[:64])  # noqa: F841
    seen.clear()
    reset = reset_peak()
    rss_before = current_rss()
    clf = ours(config["batch_size"], config["epochs"], "cpu")
    seconds, _ = timed(clf.fit, X, Y)
    peak = peak_rss()
    tensor = seen[0].X
    return {
        "fit": seconds,
        "epoch": float(np.median(clf.history_[:, "dur"])),
        "rss_before": rss_before,
        "peak_reset": reset,
        "peak": peak,
        "X_bytes": int(X.nbytes),
        "shares": bool(np.shares_memory(X, tensor.numpy())),
        "same_pointer": tensor.data_ptr() == X.__array_interface__["data"][0],
    }


def part_c(args, folder):
    n_tasks, epochs, bs = 8, args.c_epochs, args.c_batch
    print(
        f"C. scaling: rows x {N_FEATURES} features, {n_tasks} binary tasks, {epochs} epochs, "
        f"batch {bs}, cpu; each size in a fresh process that loads X (float32,\n"
        "   C-contiguous) from disk and fits 64 rows once (untimed), so its RSS before fit "
        "is the data, the imports\n"
        "   and torch's initialisation. Peak and fit extra as in B: fit extra = peak RSS "
        "during fit - RSS before.\n"
        "   'shares X' = np.shares_memory(X, training tensor) and equal data_ptr:\n"
        "   the tensor the batches are sliced from is the caller's buffer (validate_data "
        "keeps a float32\n"
        "   C-contiguous array as it is, torch.from_numpy wraps it), so no copy of X is "
        "made; only each\n"
        "   batch is gathered. A float64 X is converted once, to float32.\n"
    )
    header = (
        f"{'rows':>10} {'X dtype':>8}{'s/epoch':>9}{'us/row':>8}{'X MB':>8}"
        f"{'RSS before':>12}{'peak MB':>9}{'fit extra':>11}{'shares X':>10}"
    )
    print(header)
    print("-" * len(header))
    configs = [(n, "float32") for n in args.c_sizes] + [(args.c_sizes[-1], "float64")]
    for n, dtype in configs:
        X, Y = make_data(n, n_tasks)
        paths = {"X": str(folder / f"c_X_{n}.npy"), "Y": str(folder / f"c_Y_{n}.npy")}
        np.save(paths["X"], X)
        np.save(paths["Y"], Y)
        del X, Y
        config = dict(part="c", dtype=dtype, epochs=epochs, batch_size=bs, **paths)
        r = run_child(config, args.threads)
        shares = "yes" if r["shares"] and r["same_pointer"] else "no (copy)"
        print(
            f"{n:>10,} {dtype:>8}{r['epoch']:>9.2f}{1e6 * r['epoch'] / n:>8.1f}"
            f"{mb(r['X_bytes']):>8.0f}{mb(r['rss_before']):>12.0f}{mb(r['peak']):>9.0f}"
            f"{mb(r['peak'] - r['rss_before']):>11.0f}{shares:>10}"
        )
        if not r["peak_reset"]:
            print("           (the peak RSS could not be reset before fit: fit extra may be "
                  "underestimated)")
    print()


# ------------------------------------------------------------------ main
# -------------------------------------------- D: what each option of ours costs
# Options switched on one at a time over one network with none of them
# ("engine"), then the default estimator. Early stopping is off everywhere (a
# fixed number of epochs, as in the plain loop); its validation pass is the
# last line.
OPTIONS_D = {
    "engine (no option)": {},
    "+ robust scaling": dict(input_scaling="robust"),
    "+ label smoothing": dict(label_smoothing=0.1),
    "+ periodic embedding": dict(numerical_embedding="periodic"),
    "+ piecewise-linear emb.": dict(numerical_embedding="piecewise_linear"),
    "+ linear path": dict(linear_path=True),
    "defaults, ensemble_size=1": dict(DEFAULTS, ensemble_size=1, early_stopping=False),
    "defaults (estimator)": dict(DEFAULTS, early_stopping=False),
    "defaults + early stop": dict(DEFAULTS, early_stopping=True),
}


def _ours_d(params, batch_size, epochs):
    base = dict(ONE_NETWORK, batch_size=batch_size, max_iter=epochs, tol=0.0, device="cpu",
                random_state=0, early_stopping=False, n_iter_no_change=epochs)
    return MultiTaskClassifier(**{**base, **params,
                                  "batch_size": batch_size, "max_iter": epochs,
                                  "tol": 0.0, "n_iter_no_change": epochs, "random_state": 0,
                                  "device": "cpu"})


def part_d(args):
    n, n_tasks, epochs, batch = args.d_samples, 8, args.d_epochs, 256
    X, Y = make_data(n, n_tasks)
    Xt, Yt = torch.from_numpy(X), torch.from_numpy(Y)
    print(
        f"D. cost of each option: {n:,} rows x {N_FEATURES} features, {n_tasks} binary tasks, "
        f"{epochs} epochs, batch {batch}, cpu; median of {args.d_repeats} interleaved runs"
        f"{' (CPU time of the process)' if args.cpu_time else ''}\n"
        "   plain = one network as a bare PyTorch loop (part A); each line of ours adds one "
        "option to one network\n   with none (ensemble_size=1, no scaling, no smoothing), "
        "early stopping off; ratio: median over\n   repeats of ours / plain timed in the "
        "same repeat. 'defaults (estimator)': MultiTaskClassifier() as\n   shipped "
        "(early stopping off); '+ early stop': with its validation split and pass (the "
        "number of\n   epochs is the same: patience = epochs).\n"
    )
    for threads in args.d_threads:
        torch.set_num_threads(threads)
        with threadpool_limits(threads, user_api="blas"):
            candidates = {"plain loop": lambda: plain_fit(Xt, Yt, batch, epochs, "cpu")}
            for label, params in OPTIONS_D.items():
                candidates[label] = (
                    lambda p=params: _ours_d(p, batch, epochs).fit(X, Y))
            for fit in candidates.values():  # one-off initialisations: not timed
                fit()
            names = list(candidates)
            times = {name: [] for name in names}
            for repeat in range(args.d_repeats):
                shift = repeat % len(names)
                for name in names[shift:] + names[:shift]:
                    if args.cpu_time:
                        start = time.process_time()
                        candidates[name]()
                        seconds = time.process_time() - start
                    else:
                        seconds, _ = timed(candidates[name])
                    times[name].append(seconds)
        header = f"{'configuration (' + str(threads) + ' thread(s))':<30}{'s/fit':>8}" \
                 f"{'rows/s':>10}{'vs plain':>10}"
        print(header)
        print("-" * len(header))
        for name in names:
            ratio = median_ratio(times[name], times["plain loop"])
            print(f"{name:<30}{np.median(times[name]):>8.2f}"
                  f"{n * epochs / np.median(times[name]):>10,.0f}{ratio:>9.2f}x")
        one = median_ratio(times["defaults, ensemble_size=1"], times["plain loop"])
        full = median_ratio(times["defaults (estimator)"], times["plain loop"])
        print(f"   targets: defaults with ensemble_size=1 <= 1.0x plain ({one:.2f}x, "
              f"{'met' if one <= 1.0 else 'missed'}); the default estimator <= 2.0x plain "
              f"({full:.2f}x, {'met' if full <= 2.0 else 'missed'})\n")
    torch.set_num_threads(args.threads if args.threads > 0 else torch.get_num_threads())


def describe(args):
    threads = (
        f"{torch.get_num_threads()} torch threads (torch's default)"
        if args.threads == 0
        else f"{torch.get_num_threads()} torch thread(s), BLAS limited to {args.threads}"
    )
    return (
        f"{platform.machine()}, {os.cpu_count()} CPUs, {threads}, "
        f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')} | "
        f"Python {platform.python_version()}, torch {torch.__version__}, scikit-learn "
        f"{sklearn.__version__}, skorch {skorch.__version__}, numpy {np.__version__} | "
        f"{time.strftime('%Y-%m-%d')}"
    )


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--large", action="store_true", help="add 10^6 rows to part C")
    parser.add_argument(
        "--threads", type=int, default=1,
        help="torch intra-op and BLAS threads (default 1; 0 keeps torch's default)",
    )
    parser.add_argument(
        "--device", choices=["all", "cpu", "cuda"], default="all",
        help="'all': the CPU, then CUDA when available",
    )
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--parts", default="abcd", help="which tables, e.g. 'ad'")
    parser.add_argument("--d-threads", default="1,2",
                        help="part D: thread counts, comma-separated")
    parser.add_argument("--cpu-time", action="store_true",
                        help="part D: time with the process's CPU time (less sensitive to "
                             "other jobs; with one thread only)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    quick = args.quick
    args.repeats = args.repeats or (2 if quick else 3)
    args.epochs = 2 if quick else 3
    args.a_samples = 10_000 if quick else 50_000
    args.batch_sizes = [256, 1024] if quick else [256, 1024, 4096]
    args.b_tasks = [2, 8] if quick else [2, 8, 32]
    args.b_train, args.b_test = (4_000, 2_000) if quick else (10_000, 5_000)
    args.b_batch = 256
    args.c_sizes = [10_000] if quick else [10_000, 100_000]
    if args.large:
        args.c_sizes.append(1_000_000)
    args.c_epochs, args.c_batch = 2, 256
    args.d_samples, args.d_epochs = (4_000, 2) if quick else (20_000, 10)
    args.d_repeats = 2 if quick else 5
    args.d_threads = [int(t) for t in args.d_threads.split(",")]
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
        threadpool_limits(args.threads, user_api="blas")
    warnings.filterwarnings("ignore", category=ConvergenceWarning)  # fixed epochs on purpose
    if args.child:
        config = json.loads(args.child)
        result = child_b(config) if config["part"] == "b" else child_c(config)
        print(json.dumps(result))
        return

    devices = ["cpu"] if args.device in ("all", "cpu") else []
    if args.device in ("all", "cuda"):
        if torch.cuda.is_available():
            devices.append("cuda")
        elif args.device == "cuda":
            sys.exit("--device cuda: torch sees no CUDA device.")
    print(describe(args))
    for device in devices[1:]:
        print(f"CUDA device: {torch.cuda.get_device_name(device)}")
    if "cuda" not in devices:
        print("No CUDA device: CPU figures only.")
    print()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for device in devices:
            if "a" in args.parts:
                part_a(args, device)
            if "b" in args.parts:
                part_b(args, device, folder)
        if "c" in args.parts:
            part_c(args, folder)
        if "d" in args.parts:
            part_d(args)
    print(f"total {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
