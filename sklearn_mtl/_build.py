"""Assembly of the network from the estimator's parameters.

One direction: the estimator's parameters -> sub-objects resolved from the
registries (:func:`resolve_architecture`, :func:`resolve_trunk`,
:func:`resolve_embedding`, :func:`resolve_weighting`) -> the torch module
(:func:`build_module`) -> the skorch net with its settings and callbacks
(:func:`make_net` for a new network; :func:`continue_net` re-applies the same
settings to a fitted one for ``warm_start``). Each setting is written once per
fit, in one place (:func:`run_settings`, :func:`fit_callbacks`).
"""

import inspect
import numbers
import os

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.base import clone

from ._callbacks import (
    AffinityProbe,
    DivergenceCheck,
    FitProgress,
    StopOnPlateau,
    named_callbacks,
)
from ._data import ValidationSplit, statistics_sample
from ._net import MultiTaskNet
from .architectures import ARCHITECTURES
from .embeddings import EMBEDDINGS
from .modules import MultiTaskModule, SharedTrunk
from .modules._embeddings import LinearPath
from .modules._scaling import _QUANTILE_ROWS, RobustScaling, robust_statistics
from .trunks import TRUNKS, resolve_input_shape
from .weighting import WEIGHTINGS


def _optimizer_options(device):
    """Extra AdamW options for ``device``: the fused CUDA kernel where torch has it.

    Only from torch 2.4, which also has a fused CPU kernel, so that a model
    trained on CUDA and loaded on a CPU-only machine can still continue to
    train (``warm_start``).
    """
    fused_known = "fused" in inspect.signature(torch.optim.AdamW).parameters
    if torch.device(device).type == "cuda" and fused_known and _torch_at_least(2, 4):
        return {"fused": True}
    return {}


def _torch_at_least(major, minor):
    """Whether torch is at least ``major.minor`` (compared as numbers: a string
    comparison would put 2.13 before 2.4)."""
    release = torch.__version__.split("+")[0].split(".")
    return (int(release[0]), int(release[1])) >= (major, minor)


# ensemble_size="auto": members of the shared hidden layers (benchmarks/accuracy.py).
_AUTO_ENSEMBLE_SIZE = 4

# Decoupled weight decay of the linear path's weights (its own optimizer group).
_LINEAR_PATH_WEIGHT_DECAY = 1e-2

# affinity_every="auto" measures every this many steps per task: a measured step
# costs about n_tasks training steps (benchmarks/affinity_overhead.py).
_AUTO_AFFINITY_STEPS_PER_TASK = 3


# affinity_every="auto" measures every this many steps per task: a measured step
# costs about n_tasks training steps (benchmarks/affinity_overhead.py).
_AUTO_AFFINITY_STEPS_PER_TASK = 3


def _physical_memory():
    """Bytes of memory of this machine (1 TiB where the system does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return 2**40


def _check_ensemble_memory(ensemble_size, n_inputs, hidden):
    """A clear error, before anything is allocated, for an ensemble whose members'
    shared layers could not be trained in this machine's memory."""
    widths = [n_inputs, *hidden]
    n_params = ensemble_size * sum((a + 1) * b for a, b in zip(widths, widths[1:]))
    # float32 weights, their gradients and AdamW's two moments
    needed, memory = 16 * n_params, _physical_memory()
    if needed > memory:
        raise ValueError(
            f"ensemble_size={ensemble_size} member(s) of the shared layers "
            f"hidden_layer_sizes={tuple(hidden)} on {n_inputs} inputs have "
            f"{n_params:.3g} parameters and need about {needed / 2**30:.3g} GiB to train "
            f"(weights, gradients and AdamW's two moments), more than this machine's "
            f"{memory / 2**30:.3g} GiB of memory; lower ensemble_size ('auto' uses "
            f"{_AUTO_ENSEMBLE_SIZE}) or hidden_layer_sizes."
        )


# ------------------------------------------------------------ sub-objects
def from_registry(registry, value):
    """A name is looked up in ``registry`` (name -> factory, called with no
    argument); an object is used as given."""
    return registry[value]() if isinstance(value, str) else value


def resolve_architecture(value):
    return from_registry(ARCHITECTURES, value)


def resolve_trunk(value):
    """The trunk object (None: no feature extractor)."""
    return from_registry(TRUNKS, value)


def _reads_features(trunk):
    """Whether the shared layers read the columns of X as numerical features."""
    return trunk is None or trunk.reads_features


def resolve_embedding(value):
    return from_registry(EMBEDDINGS, value)


def resolve_weighting(value):
    """A new strategy: fitted state must not land on the user's object."""
    return WEIGHTINGS[value]() if isinstance(value, str) else clone(value)


def layer_sizes(est, name):
    """The positive integers of the estimator's parameter ``name`` as a list."""
    value = getattr(est, name)
    sizes = [value] if isinstance(value, numbers.Integral) else list(value)
    for size in sizes:
        if isinstance(size, bool) or not isinstance(size, numbers.Integral) or size < 1:
            raise ValueError(f"{name} must hold positive integers; got {value!r}.")
    return [int(size) for size in sizes]


def resolve_ensemble_size(est):
    if est.ensemble_size != "auto":
        return int(est.ensemble_size)
    return _AUTO_ENSEMBLE_SIZE if layer_sizes(est, "hidden_layer_sizes") else 1


def resolve_affinity_every(est, n_tasks):
    if est.affinity_every == "auto":
        return _AUTO_AFFINITY_STEPS_PER_TASK * n_tasks
    return None if est.affinity_every is None else int(est.affinity_every)


# ----------------------------------------------------------------- module
def build_module(est, X, n_classes):
    """The torch module of estimator ``est`` for ``X`` (whose rows give the
    data-derived statistics: robust scaling, embedding bins) and ``n_classes``
    per task."""
    n_features = X.shape[1]
    # a Dask or non-float32 memory-mapped X: its strided sample, read once
    X = statistics_sample(X)
    trunk = resolve_trunk(est.trunk)
    if _reads_features(trunk) and est.input_shape is not None:
        raise ValueError(
            f"input_shape={est.input_shape!r} is only read by a convolutional or "
            "custom trunk, and trunk is None: set trunk='conv' (or a TorchTrunk), "
            "or leave input_shape=None."
        )
    input_shape = resolve_input_shape(est.input_shape, n_features)
    extractor = None if trunk is None else trunk.build(n_features, input_shape)
    hidden = layer_sizes(est, "hidden_layer_sizes")
    ensemble_size = resolve_ensemble_size(est)
    if ensemble_size > 1 and not hidden:
        raise ValueError(
            f"ensemble_size={est.ensemble_size} needs at least one shared hidden "
            "layer (the members differ by that layer's adapters); set "
            "hidden_layer_sizes or ensemble_size=1."
        )
    _check_ensemble_memory(
        ensemble_size, n_features if extractor is None else extractor.out_features, hidden
    )
    scaling = None
    if est.input_scaling == "robust":
        scaling = RobustScaling(*robust_statistics(X))
    embedding = _build_embedding(est, X, scaling, trunk)
    shared = SharedTrunk(
        extractor,
        n_features,
        hidden,
        activation=est.activation,
        dropout=est.dropout,
        batch_norm=est.batch_norm,
        ensemble_size=ensemble_size,
        scaling=scaling,
        embedding=embedding,
    )
    architecture = resolve_architecture(est.architecture)
    block = architecture.build(shared.out_features, len(n_classes), activation=est.activation)
    heads = architecture.build_heads(
        block.out_features,
        n_classes,
        hidden_layer_sizes=layer_sizes(est, "head_hidden_layer_sizes"),
        activation=est.activation,
        dropout=est.dropout,
    )
    linear_path = LinearPath(n_features, sum(n_classes)) if est.linear_path else None
    return MultiTaskModule(shared, block, heads, linear_path)


def _build_embedding(est, X, scaling, trunk):
    """The numerical embedding's module, its statistics from the training
    rows as the embedding reads them (after ``scaling``)."""
    spec = resolve_embedding(est.numerical_embedding)
    if spec is None:
        return None
    if not _reads_features(trunk):
        raise ValueError(
            f"numerical_embedding={est.numerical_embedding!r} embeds numerical "
            f"features, but trunk={est.trunk!r} reads X as an image or through "
            "its own module. Use numerical_embedding=None with a convolutional or "
            "custom trunk."
        )
    # the strided sample that the scaling's own statistics are estimated on
    rows = X[:: max(1, X.shape[0] // _QUANTILE_ROWS)]
    rows = rows.toarray() if sp.issparse(rows) else np.asarray(rows, dtype=np.float32)
    if scaling is not None:
        with torch.no_grad():
            rows = scaling(torch.from_numpy(rows)).numpy()
    return spec.build(rows)


# ---------------------------------------------------------------------- net
def run_settings(est):
    """The net's settings that follow the estimator's parameters at every fit
    (``warm_start`` included)."""
    return dict(
        max_epochs=est.max_iter,
        verbose=est.verbose,
        batch_size=est.batch_size,
        shuffle=est.shuffle,
        precision=est.precision,
        label_smoothing=est.label_smoothing,
    )


_OWN_CALLBACKS = ("divergence_check", "affinity_probe", "stop_on_plateau", "progress")


def fit_callbacks(est, n_tasks, early_stopping, previous=None, stop_on_plateau=True):
    """The callbacks of a fit: the package's own (in this order: the
    divergence check, the affinity probe, early stopping, the progress bar),
    then the user's ``callbacks`` in their order.

    ``previous``: the fitted net's callbacks, whose affinity probe carries on
    (its totals belong to the network's life). ``stop_on_plateau=False``
    (``partial_fit``: one epoch a call) leaves out the stopping rule.
    """
    probe = dict(previous or []).get("affinity_probe")
    every = resolve_affinity_every(est, n_tasks)
    own = [("divergence_check", DivergenceCheck())]
    if every is not None or probe is not None:
        probe = probe if probe is not None else AffinityProbe(every)
        probe.every = every
        own.append(("affinity_probe", probe))
    if stop_on_plateau:
        monitor = "valid_loss" if early_stopping else "train_loss"
        own.append(("stop_on_plateau", StopOnPlateau(
            monitor, est.n_iter_no_change, est.tol, restore_best=early_stopping)))
    if est.verbose:
        own.append(("progress", FitProgress()))
    return own + named_callbacks(est.callbacks)


def _train_split(est, seed, early_stopping, groups):
    if not early_stopping:
        return None
    return ValidationSplit(est.validation_fraction, seed, groups)


def make_net(est, X, encoding, task_weights, class_weights, seed, device,
             early_stopping=False, groups=None, stop_on_plateau=True):
    """A new skorch net (not initialised) for estimator ``est``."""
    module = build_module(est, X, encoding.n_classes)
    return MultiTaskNet(
        module,
        criterion=torch.nn.CrossEntropyLoss,  # unused: losses are per task
        optimizer=torch.optim.AdamW,
        **{f"optimizer__{k}": v for k, v in _optimizer_options(device).items()},
        optimizer__lr=est.learning_rate_init,
        optimizer__weight_decay=est.weight_decay,
        optimizer__param_groups=[
            ("linear_path.*", {"weight_decay": _LINEAR_PATH_WEIGHT_DECAY,
                               "linear_path": True}),
        ],
        train_split=_train_split(est, seed, early_stopping, groups),
        callbacks=fit_callbacks(est, len(encoding.task_names), early_stopping,
                                stop_on_plateau=stop_on_plateau),
        device=device,
        task_names=list(encoding.task_names),
        weighting=resolve_weighting(est.weighting),
        task_weights=task_weights,
        class_weights=class_weights,
        seed=seed,
        **run_settings(est),
    )


def continue_net(est, net, task_weights, class_weights, seed, early_stopping, groups=None,
                 stop_on_plateau=True):
    """Prepare a fitted net for another fit (``warm_start``, ``partial_fit``)
    with the estimator's current settings, as :func:`make_net` sets them on a
    new one."""
    for name, value in run_settings(est).items():
        setattr(net, name, value)
    net.weighting.set_task_weights(task_weights)
    net.class_weights = class_weights
    # like MLPClassifier, take the current optimizer settings
    for group in net.optimizer_.param_groups:
        group["lr"] = est.learning_rate_init
        if not (group.get("weighting") or group.get("linear_path")):
            group["weight_decay"] = est.weight_decay
    net.train_split = _train_split(est, seed, early_stopping, groups)
    callbacks = fit_callbacks(est, len(net.task_names), early_stopping, net.callbacks_,
                              stop_on_plateau)
    defaults = {name for name, _ in net._default_callbacks}
    current = [(name, cb) for name, cb in net.callbacks_ if name not in defaults]
    if stop_on_plateau or not _same_callbacks(current, callbacks):
        net.callbacks = callbacks
        net.initialize_callbacks()
    # else another partial_fit call: the callbacks carry on with their state (a
    # logger's writer, a checkpoint's best score), as in skorch's partial_fit
    return net


def _same_callbacks(current, wanted):
    """Whether the net's initialised callbacks ``current`` are ``wanted`` (the
    package's by name, the user's as the same objects)."""
    if [name for name, _ in current] != [name for name, _ in wanted]:
        return False
    return all(
        name in _OWN_CALLBACKS or a is b or (isinstance(b, type) and type(a) is b)
        for (name, a), (_, b) in zip(current, wanted)
    )
