"""GPU training speed: MultiTaskClassifier.fit next to a plain PyTorch loop.

The workload of issue 6: 1,000,000 rows x 256 features, a shared MLP
(1024, 1024), 8 tasks x 10 classes, at batch sizes 4096, 16384 and 65536, in
float32 and in bf16 (``precision="bfloat16"``: autocast of the forward pass).
Run it on a machine with a GPU (see DEVELOPERS.md for carrying skorch there)::

    PYTHONPATH=/tmp/site:. python3 benchmarks/gpu_speed.py            # ~1-2 minutes on an H100
    OMP_NUM_THREADS=1 PYTHONPATH=. python benchmarks/gpu_speed.py --quick   # tiny, any device

``--quick`` shrinks everything (4,096 rows x 32 features, MLP (64, 64), batch
256 and 1024, 1 epoch) so that the script can be checked on a CPU; its
figures mean nothing. Without CUDA the full size runs on the CPU, slowly.

For each batch size and precision:

* ``ours fit /s``: rows x epochs / wall time of ``MultiTaskClassifier.fit``
  on a float32 numpy ``X`` and an int ``Y``, end to end (validation, label
  encoding, one copy of X to the device, building the network, training).
* ``ours epoch /s``: rows / median duration of one of its epochs (skorch's
  ``history[:, "dur"]``): the training loop without fit's fixed costs.
* ``plain /s``: rows x epochs / wall time of the same training written as a
  bare PyTorch loop in this script: the same network (the estimator's
  defaults for activation and dropout, one fused linear layer for all heads),
  AdamW with the same learning rate, weight decay and kernel (fused on CUDA
  where ours uses it), rows shuffled every epoch, the same autocast, X and Y
  pre-loaded on the device.
* ``ours/plain`` and ``epoch/plain``: ratios of samples per second (above 1:
  ours faster), the median over repeats of the ratio within each repeat.
* ``fixed s``: median of fit time minus the sum of its epochs' durations.

Every run is timed between ``torch.cuda.synchronize()`` calls. Each
configuration is run once untimed first (kernel selection, allocator), then
``--repeats`` times, the order of ours and plain alternating between repeats.
Matrix products in float32 use torch's default precision (TF32 off unless
``torch.backends.cuda.matmul.allow_tf32`` says otherwise; the header prints it).
"""

import argparse
import contextlib
import functools
import json
import platform
import sys
import time
import warnings

import numpy as np
import sklearn
import skorch
import torch
import torch.nn.functional as F
from sklearn.exceptions import ConvergenceWarning
from torch import nn

from sklearn_mtl import MultiTaskClassifier
from sklearn_mtl._build import _optimizer_options

DEFAULTS = MultiTaskClassifier().get_params()
ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "logistic": nn.Sigmoid, "gelu": nn.GELU,
               "identity": nn.Identity}
PRECISIONS = ("float32", "bfloat16")
SPEED_TARGET = 15e6  # samples/s on an H100, issue 6
RATIO_TARGET = 0.9


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _autocast(device, precision):
    if precision == "bfloat16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def make_data(n, n_features, n_tasks, n_classes, device, seed=0):
    """Learnable synthetic tasks: each label is the argmax of a noisy linear map of X."""
    generator = torch.Generator(device=device).manual_seed(seed)
    X = torch.randn(n, n_features, generator=generator, device=device)
    W = torch.randn(n_features, n_tasks * n_classes, generator=generator, device=device)
    scores = (X @ W) / n_features**0.5
    scores += torch.randn(scores.shape, generator=generator, device=device)
    Y = scores.view(n, n_tasks, n_classes).argmax(dim=2)
    return X.contiguous(), Y.contiguous()


def build_plain(n_features, hidden, n_outputs, device):
    layers, width = [], n_features
    for size in hidden:
        layers += [nn.Linear(width, size), ACTIVATIONS[DEFAULTS["activation"]]()]
        if DEFAULTS["dropout"] > 0:
            layers.append(nn.Dropout(DEFAULTS["dropout"]))
        width = size
    layers.append(nn.Linear(width, n_outputs))
    return nn.Sequential(*layers).to(device)


def plain_fit(X, Y, hidden, batch_size, epochs, *, precision, seed=0):
    """The estimator's training as a bare loop; ``X``, ``Y`` already on the device."""
    device = X.device
    n, n_tasks = Y.shape
    n_classes = int(Y.max()) + 1
    torch.manual_seed(seed)
    net = build_plain(X.shape[1], hidden, n_tasks * n_classes, device).train()
    optimizer = torch.optim.AdamW(
        net.parameters(), lr=DEFAULTS["learning_rate_init"],
        weight_decay=DEFAULTS["weight_decay"], **_optimizer_options(device),
    )
    generator = torch.Generator(device=device).manual_seed(seed)
    for _ in range(epochs):
        order = torch.randperm(n, generator=generator, device=device)
        for start in range(0, n, batch_size):
            index = order[start : start + batch_size]
            with _autocast(device, precision):
                logits = net(X[index])
            logits = logits.float().view(len(index) * n_tasks, n_classes)
            loss = F.cross_entropy(logits, Y[index].reshape(-1), reduction="sum") / len(index)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        # like the estimator, which reads its epoch's losses back once per epoch
        loss.item()
    return net


def ours_fit(X, Y, hidden, batch_size, epochs, *, precision, device):
    # one network, as the plain loop trains: no ensemble, smoothing or input scaling
    return MultiTaskClassifier(
        hidden, batch_size=batch_size, max_iter=epochs, tol=0.0, device=str(device),
        early_stopping=False, ensemble_size=1, label_smoothing=0.0, input_scaling=None,
        precision=precision, random_state=0,
    ).fit(X, Y)


def timed(device, function, *args):
    _sync(device)
    start = time.perf_counter()
    result = function(*args)
    _sync(device)
    return time.perf_counter() - start, result


def describe(device):
    card = torch.cuda.get_device_name(device) if device.type == "cuda" else "no CUDA: CPU"
    cuda = f", CUDA {torch.version.cuda}" if device.type == "cuda" else ""
    tf32 = torch.backends.cuda.matmul.allow_tf32
    return (
        f"{card} | {platform.machine()}, Python {platform.python_version()}, torch "
        f"{torch.__version__}{cuda}, scikit-learn {sklearn.__version__}, skorch "
        f"{skorch.__version__} | TF32 matmul {'on' if tf32 else 'off'} | "
        f"{time.strftime('%Y-%m-%d')}"
    )


def run(args):
    device = torch.device(args.device)
    hidden = tuple(args.hidden)
    n, n_tasks, n_classes, epochs = args.rows, args.tasks, args.classes, args.epochs
    Xt, Yt = make_data(n, args.features, n_tasks, n_classes, device)
    X, Y = Xt.cpu().numpy(), Yt.cpu().numpy()
    params_plain = sum(p.numel() for p in build_plain(args.features, hidden, n_tasks * n_classes,
                                                      "cpu").parameters())
    print(describe(device))
    print(
        f"{n:,} rows x {args.features} features, MLP {hidden}, {n_tasks} tasks x {n_classes} "
        f"classes ({params_plain:,} parameters), activation {DEFAULTS['activation']}, dropout "
        f"{DEFAULTS['dropout']}, AdamW {_optimizer_options(device) or '(default kernel)'}\n"
        f"{epochs} epoch(s) per run, median of {args.repeats} runs after one untimed run; "
        "samples/s = rows x epochs / time\n"
        "ours fit: MultiTaskClassifier.fit end to end; ours epoch: its epochs alone; plain: "
        "bare loop, data pre-loaded\n"
    )
    header = (
        f"{'batch':>6} {'precision':>9} {'ours fit /s':>13} {'ours epoch /s':>14} "
        f"{'plain /s':>13} {'ours/plain':>11} {'epoch/plain':>12} {'fixed s':>8}"
    )
    print(header)
    print("-" * len(header))
    rows = []
    for batch_size in args.batch_sizes:
        for precision in args.precisions:
            candidates = {
                "ours": functools.partial(ours_fit, X, Y, hidden, batch_size,
                                          precision=precision, device=device),
                "plain": functools.partial(plain_fit, Xt, Yt, hidden, batch_size,
                                           precision=precision),
            }
            for fit in candidates.values():  # untimed
                fit(1)
            times = {"ours": [], "plain": []}
            epoch_times, fixed = [], []
            for repeat in range(args.repeats):
                order = ["ours", "plain"] if repeat % 2 == 0 else ["plain", "ours"]
                for name in order:
                    seconds, model = timed(device, candidates[name], epochs)
                    times[name].append(seconds)
                    if name == "ours":
                        durations = list(model.history_[:, "dur"])
                        assert model.n_parameters_ == params_plain
                        epoch_times.extend(durations)
                        fixed.append(seconds - sum(durations))
                    del model
            ours_rate = n * epochs / np.median(times["ours"])
            epoch_rate = n / np.median(epoch_times)
            plain_rate = n * epochs / np.median(times["plain"])
            # samples/s ratio = inverse ratio of times, per repeat
            ratio = float(np.median(np.array(times["plain"]) / np.array(times["ours"])))
            epoch_ratio = epoch_rate / plain_rate
            row = dict(
                batch_size=batch_size, precision=precision, ours_fit=ours_rate,
                ours_epoch=epoch_rate, plain=plain_rate, ours_plain=ratio,
                epoch_plain=epoch_ratio, fixed_s=float(np.median(fixed)),
                ours_times=times["ours"], plain_times=times["plain"],
            )
            rows.append(row)
            print(
                f"{batch_size:>6} {precision:>9} {ours_rate:>13,.0f} {epoch_rate:>14,.0f} "
                f"{plain_rate:>13,.0f} {ratio:>10.2f}x {epoch_ratio:>11.2f}x "
                f"{row['fixed_s']:>8.2f}",
                flush=True,
            )
            if device.type == "cuda":
                torch.cuda.empty_cache()
    worst = min(rows, key=lambda r: r["ours_plain"])
    verdict = "met" if worst["ours_plain"] >= RATIO_TARGET else "missed"
    print(
        f"\ntarget ours >= {RATIO_TARGET}x plain's samples/s at the same batch (fit end to end): "
        f"worst {worst['ours_plain']:.2f}x (batch {worst['batch_size']}, "
        f"{worst['precision']}), {verdict}"
    )
    worst = min(rows, key=lambda r: r["epoch_plain"])
    print(
        f"                                            (epochs alone): worst "
        f"{worst['epoch_plain']:.2f}x (batch {worst['batch_size']}, {worst['precision']})"
    )
    best = max(rows, key=lambda r: r["ours_fit"])
    verdict = "met" if best["ours_fit"] >= SPEED_TARGET else "missed"
    note = "" if device.type == "cuda" and not args.quick else " (not the target's workload/card)"
    print(
        f"target ours >= {SPEED_TARGET / 1e6:.0f} M samples/s on an H100: best "
        f"{best['ours_fit'] / 1e6:.2f} M/s fit, {best['ours_epoch'] / 1e6:.2f} M/s per epoch "
        f"(batch {best['batch_size']}, {best['precision']}), {verdict}{note}"
    )
    return dict(
        header=describe(device), device=str(device), rows_n=n, features=args.features,
        hidden=list(hidden), tasks=n_tasks, classes=n_classes, epochs=epochs,
        repeats=args.repeats, quick=args.quick, results=rows,
    )


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for a smoke run")
    parser.add_argument("--device", default=None, help="default: cuda when available, else cpu")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=None)
    parser.add_argument("--precisions", nargs="+", choices=PRECISIONS, default=list(PRECISIONS))
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    args.device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    if args.quick:
        args.rows, args.features, args.hidden = 4096, 32, (64, 64)
        args.batch_sizes = args.batch_sizes or [256, 1024]
        args.epochs = args.epochs or 1
    else:
        args.rows, args.features, args.hidden = 1_000_000, 256, (1024, 1024)
        args.batch_sizes = args.batch_sizes or [4096, 16384, 65536]
        args.epochs = args.epochs or 2
    args.tasks, args.classes = 8, 10
    return args


def main(argv=None):
    args = parse_args(argv)
    warnings.filterwarnings("ignore", category=ConvergenceWarning)  # fixed epochs on purpose
    start = time.perf_counter()
    result = run(args)
    print(f"\ntotal {time.perf_counter() - start:.0f} s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
