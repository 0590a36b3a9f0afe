"""The training engine: a skorch ``NeuralNet`` with a tensor-slicing data path,
per-task masked losses and a pluggable task-weighting strategy.

skorch's loop (``fit`` -> ``partial_fit`` -> ``fit_loop`` -> callbacks) is kept;
only the hooks below are replaced:

* ``get_split_datasets`` / ``get_iterator``: batches are sliced from tensors
  prepared once (on the training device when they fit), never assembled row by
  row through ``Dataset.__getitem__`` and a collate function.
* ``train_step``: one forward pass, the vector of task losses, the weighting
  strategy's backward, one optimizer step.
* ``infer``: the forward pass, under bf16 autocast when ``precision`` asks
  for it (parameters, optimizer state and the task losses stay float32).
* ``run_single_epoch``: losses are summed on the device and read back once per
  epoch, not once per batch.

Under data-parallel training (several processes, :mod:`._distributed`), each
process trains on its share of every batch: the task losses and gradients are
reduced across the processes in ``train_step``, the validation sums at the
end of each epoch; without a process group none of this runs.
"""

import contextlib

import numpy as np
import torch
from skorch import NeuralNet
from skorch.callbacks import Callback, EpochTimer, PrintLog
from skorch.utils import TeeGenerator

from ._affinity import lookahead_affinity
from ._callbacks import AFFINITY_KEY, AffinityProbe, StopTraining
from ._data import (
    BatchIterator,
    BlockData,
    BlockIterator,
    TensorData,
    _index_device,
    prepare_data,
    training_sample,
)
from ._distributed import data_parallel
from ._linear_path import fit_linear_path
from ._loss import task_losses
from ._random import rewound_rng, rng_state
from .modules._ensemble import combine_members, repeat_rows

_PREDICT_BATCH_SIZE = 8192


def task_key(prefix, task_name):
    """History key of one task's loss, e.g. ``train_loss[digit]``.

    The brackets keep task names from clashing with skorch's ``*_best`` keys.
    """
    return f"{prefix}_loss[{task_name}]"


def weight_key(task_name):
    """History key of the mean weight a strategy gave a task over an epoch."""
    return f"weight[{task_name}]"


# The hooks that run once per batch: notified only where someone listens.
_BATCH_HOOKS = ("on_batch_begin", "on_batch_end", "on_grad_computed")


def mean_task_loss(losses, present):
    """The mean of ``losses`` over the ``present`` tasks (0 when none is), as
    a 0-d tensor on their device: no device-to-host read."""
    present = present.to(losses.dtype)
    return (losses * present).sum() / present.sum().clamp_min(1.0)


def _overrides(obj, hook, base):
    """Whether ``type(obj)`` defines ``hook`` other than as ``base`` does."""
    return getattr(type(obj), hook, None) is not getattr(base, hook)


class MultiTaskNet(NeuralNet):
    """skorch engine of :class:`~sklearn_mtl.MultiTaskClassifier`.

    Trains a module that maps ``(n, n_features)`` to concatenated logits
    ``(n, sum(n_classes))`` on targets given as int64 codes with ``-1`` for a
    missing label. Not meant to be used directly.

    Parameters (besides skorch's)
    -----------------------------
    task_names : list of str
    weighting : BaseWeighting
    task_weights : ndarray of shape (n_tasks,)
        Given to the weighting strategy's ``setup``, which owns them from then
        on (``weighting.set_task_weights`` changes them).
    class_weights : list of (ndarray or None)
    shuffle : bool
    seed : int
        Seeds the shuffling of batches.
    precision : {"float32", "bfloat16"}
        "bfloat16": forward passes run under ``torch.autocast`` in bf16.
    label_smoothing : float
        Label smoothing of every task's training cross-entropy.

    With an ensemble module (``module.ensemble_size = k > 1``), each member is
    trained on every row (the task loss is the mean over members of their
    losses, as in TabM), while validation and prediction use the ensemble:
    the mean of the members' probabilities.
    """

    def __init__(
        self, module, *args, task_names=(), weighting=None, task_weights=None,
        class_weights=None, shuffle=True, seed=0, precision="float32",
        label_smoothing=0.0, **kwargs
    ):
        super().__init__(module, *args, **kwargs)
        self.task_names = list(task_names)
        self.weighting = weighting
        self.task_weights = task_weights
        self.class_weights = class_weights
        self.shuffle = shuffle
        self.seed = seed
        self.precision = precision
        self.label_smoothing = label_smoothing

    @property
    def _default_callbacks(self):
        # the affinity matrix is a nested list: no column of the printed table
        return [("epoch_timer", EpochTimer()),
                ("print_log", PrintLog(keys_ignored=[AFFINITY_KEY]))]

    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        # A planned stop ends the loop quietly. A real Ctrl-C is recorded
        # before skorch's partial_fit swallows it (and still runs
        # on_train_end, which restores the best epoch), so that the estimator
        # can re-raise it once the fitted state is set.
        self.interrupted_ = False
        self.initial_loss_ = None  # the first batch's mean task loss, at the initial weights
        scaled = getattr(X, "scaled", False)
        trunk = self.module_.trunk
        context = trunk.scaled_inputs() if scaled else contextlib.nullcontext()
        self._in_fit = True
        try:
            with context:
                return super().fit_loop(X, y, epochs=epochs, **fit_params)
        except StopTraining:
            return self
        except KeyboardInterrupt:
            self.interrupted_ = True
            history = self.history
            if len(history) and "train_loss" not in history[-1]:
                del history[-1]  # the epoch that Ctrl-C cut short
            raise
        finally:
            self._in_fit = False

    def notify(self, method_name, **cb_kwargs):
        """skorch's ``notify``; a planned stop (:class:`StopTraining`) raised in
        ``on_epoch_end`` takes effect once every callback has seen the epoch."""
        if method_name != "on_epoch_end":
            return super().notify(method_name, **cb_kwargs)
        stop = None
        getattr(self, method_name)(self, **cb_kwargs)
        for _, callback in self.callbacks_:
            try:
                getattr(callback, method_name)(self, **cb_kwargs)
            except StopTraining as exc:
                stop = exc
        if stop is not None:
            raise stop

    # ------------------------------------------------------------ callbacks
    def _find_listeners(self):
        """For each per-batch hook, the objects that override it: this net
        (when a subclass does) and its callbacks, in skorch's order."""
        listeners = {}
        for hook in _BATCH_HOOKS:
            found = [self] if _overrides(self, hook, NeuralNet) else []
            found += [cb for _, cb in self.callbacks_ if _overrides(cb, hook, Callback)]
            listeners[hook] = found
        return listeners

    def _listeners(self, hook):
        listeners = self.__dict__.get("_hook_listeners")
        if listeners is None:  # outside fit: whoever calls a step gets every hook
            listeners = self._find_listeners() if hasattr(self, "callbacks_") else {}
        return listeners.get(hook, ())

    def _notify_listeners(self, listeners, hook, **kwargs):
        """skorch's ``notify`` restricted to ``listeners`` (which see the same
        arguments, in the same order, as with ``notify``)."""
        for listener in listeners:
            getattr(listener, hook)(self, **kwargs)

    # ----------------------------------------------------------------- data
    def _device(self):
        return torch.device(self.device)

    def prepare_data(self, X, codes=None, sample_weight=None, scale=False):
        """The data as a :class:`~sklearn_mtl._data.TensorData` on the training
        device (see :func:`~sklearn_mtl._data.prepare_data`)."""
        return prepare_data(X, codes, sample_weight, self._device(), self.module_, scale)

    def get_split_datasets(self, X, y=None, **fit_params):
        dataset_train, dataset_valid = super().get_split_datasets(X, y, **fit_params)
        path = getattr(self.module_, "linear_path", None)
        if path is not None and getattr(self, "linear_path_pending_", False):
            Xs, codes, weight = training_sample(dataset_train, self._device(),
                                                self.module_.trunk.scale)
            fit_linear_path(path, Xs, codes, self.module_.split_sizes,
                            self._class_weights_on(self._device()), weight)
            self.linear_path_pending_ = False
        parallel = getattr(self, "_data_parallel", None)
        if parallel is not None and dataset_valid is not None:
            # the same split on every process (seeded); each validates its share
            dataset_valid = dataset_valid.subset(parallel.shard(len(dataset_valid)))
        return dataset_train, dataset_valid

    def load_params(self, f_params=None, *args, checkpoint=None, **kwargs):
        """skorch's ``load_params``; loaded module weights hold the linear path's
        too, so that a new network's path is not fitted over them (a
        ``LoadInitState`` resuming a fit)."""
        super().load_params(f_params, *args, checkpoint=checkpoint, **kwargs)
        if f_params is not None or (checkpoint is not None
                                    and getattr(checkpoint, "f_params", None) is not None):
            self.linear_path_pending_ = False

    def get_dataset(self, X, y=None):
        if isinstance(X, (TensorData, BlockData)):
            return X
        return self.prepare_data(X)

    def get_iterator(self, dataset, training=False):
        if isinstance(dataset, BlockData):
            return self._block_iterator(dataset, training)
        if not training:
            return BatchIterator(dataset, _PREDICT_BATCH_SIZE, False, None, self._device())
        batch_size = self.batch_size if self.batch_size > 0 else len(dataset)
        if not hasattr(self, "_generator") or self._generator is None:
            self._generator = self._make_generator(dataset)
        return BatchIterator(dataset, batch_size, self.shuffle, self._generator, self._device(),
                             *self._share())

    def _share(self):
        """``(rank, size)``: which share of each training batch this process
        trains on (all of it, ``(0, 1)``, unless data-parallel)."""
        parallel = getattr(self, "_data_parallel", None)
        return (0, 1) if parallel is None else (parallel.rank, parallel.size)

    def _block_iterator(self, dataset, training):
        """A Dask ``X``'s batches (:class:`~sklearn_mtl._data.BlockIterator`),
        shuffled with the net's generator as :class:`BatchIterator`'s are."""
        if not training:
            return BlockIterator(dataset, _PREDICT_BATCH_SIZE, False, None, self._device())
        batch_size = self.batch_size if self.batch_size > 0 else len(dataset)
        if getattr(self, "_generator", None) is None:
            self._generator = self._make_generator(dataset)
        return BlockIterator(dataset, batch_size, self.shuffle, self._generator, self._device(),
                             *self._share())

    def _make_generator(self, dataset):
        device = _index_device(dataset)
        generator = torch.Generator(device=device).manual_seed(self.seed)
        saved = self.__dict__.pop("_generator_state", None)
        if saved is not None and saved[0] == device.type:
            state = torch.frombuffer(bytearray(saved[1]), dtype=torch.uint8)
            generator.set_state(state)
        return generator

    def __getstate__(self):
        state = super().__getstate__()
        # The shuffling generator is device-bound: keep its state as bytes, so
        # that warm_start after loading continues the batch order.
        generator = state.pop("_generator", None)
        if generator is not None:
            state["_generator_state"] = (
                generator.device.type,
                bytes(generator.get_state().numpy().tobytes()),
            )
        state.pop("_class_weights_dev", None)
        state.pop("_hook_listeners", None)
        state.pop("_shared", None)
        state.pop("_specific", None)
        state.pop("_affinity_probe", None)
        state.pop("_data_parallel", None)
        # `module` is the very object `module_` (already in skorch's device-aware
        # state); pickled plainly, a CUDA-trained one would not load on a CPU.
        if state.get("module") is not None and not isinstance(state["module"], type):
            state["module"] = None
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        if self.__dict__.get("module") is None and "module_" in self.__dict__:
            self.__dict__["module"] = self.module_

    def initialize_module(self):
        super().initialize_module()
        # the weighting strategy may hold device tensors (learnable weights):
        # let skorch save and load it with a map_location, like the module
        # Callbacks too: an LRScheduler holds the optimizer, whose state is on
        # the training device; pickled plainly, a CUDA-trained net would not
        # load on a CPU-only machine (and the scheduler would hold a copy of
        # the optimizer rather than the net's own).
        for name in ("weighting", "callbacks_"):
            if name not in self.cuda_dependent_attributes_:
                self.cuda_dependent_attributes_ = self.cuda_dependent_attributes_ + [name]
        # the strategy's state exists before the optimizer, which trains its
        # learnable parameters
        device = self._device()
        task_weights = torch.as_tensor(self.task_weights, dtype=torch.float32, device=device)
        self.weighting.setup(len(self.task_names), task_weights, device)
        return self

    def get_all_learnable_params(self):
        yield from super().get_all_learnable_params()
        for i, parameter in enumerate(self.weighting.parameters()):
            yield f"weighting.{i}", parameter

    def initialize_optimizer(self, *args, **kwargs):
        # weighting parameters (log-variances, loss weights) are not decayed
        groups = list(getattr(self, "optimizer__param_groups", []) or [])
        if not any(pattern == "weighting.*" for pattern, _ in groups):
            self.optimizer__param_groups = groups + [
                ("weighting.*", {"weight_decay": 0.0, "weighting": True})
            ]
        return super().initialize_optimizer(*args, **kwargs)

    def _split_parameters(self):
        shared = [p for p in self.module_.shared_parameters() if p.requires_grad]
        ids = {id(p) for p in shared}
        specific = [p for p in self.module_.parameters() if p.requires_grad and id(p) not in ids]
        return shared, specific

    # ------------------------------------------------------------- training
    def autocast(self):
        """The context of every forward pass: bf16 autocast, or nothing.

        Only the forward pass is cast: parameters, gradients and optimizer
        state stay float32, and ``task_losses`` computes in float32.
        """
        if self.precision == "bfloat16":
            return torch.autocast(device_type=self._device().type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def infer(self, x, **fit_params):
        with self.autocast():
            return super().infer(x, **fit_params)

    def initialize(self):
        super().initialize()
        self._generator = None
        return self

    def _class_weights_on(self, device):
        if self.class_weights is None:
            return None
        return [
            None if w is None else torch.as_tensor(w, dtype=torch.float32, device=device)
            for w in self.class_weights
        ]

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        super().on_train_begin(net, X=X, y=y, **kwargs)
        # None in one process; refuses a strategy that needs the whole batch
        self._data_parallel = data_parallel(self.weighting, self._device())
        self._hook_listeners = self._find_listeners()
        device = self._device()
        self._class_weights_dev = self._class_weights_on(device)
        self._shared, self._specific = self._split_parameters()
        names = {id(p): name for name, p in self.module_.named_parameters()}
        self._shared_names = [names[id(p)] for p in self._shared]
        # the one callback that measures inside the step: it needs the step's
        # graph of task losses, which no skorch hook carries
        self._affinity_probe = next(
            (cb for _, cb in self.callbacks_ if isinstance(cb, AffinityProbe)
             and cb.every is not None), None)

    def on_train_end(self, net, X=None, y=None, **kwargs):
        super().on_train_end(net, X=X, y=y, **kwargs)
        self._hook_listeners = None
        self._class_weights_dev = None
        self._shared = self._specific = None
        self._affinity_probe = None
        self._data_parallel = None

    # ------------------------------------------------------ task affinity
    def _shared_lrs(self):
        """The learning rate of each shared parameter, from its optimizer group."""
        by_id = {}
        for group in self.optimizer_.param_groups:
            for p in group["params"]:
                by_id[id(p)] = group["lr"]
        return [by_id.get(id(p), 0.0) for p in self._shared]

    def task_affinity(self, Xb, yb, losses, present, rng_before):
        """Look-ahead affinity of every ordered pair of tasks on one batch.

        ``losses`` are the training losses of the batch from a forward pass in
        training mode that started with the global RNG at ``rng_before``. Each
        look-ahead forward pass calls the module with the shared parameters
        replaced (``torch.func.functional_call``: the module's own parameters
        are never written to, so nothing needs restoring), on copies of its
        buffers (batch norm's running statistics stay as they are), in the
        same mode and with the RNG rewound to ``rng_before`` (the same dropout
        masks). The optimizer, its state and the weighting strategy are not
        involved; afterwards the RNG is where the step's forward pass left it.

        Returns
        -------
        Z : Tensor of shape (n_tasks, n_tasks), see
            :func:`~sklearn_mtl._affinity.lookahead_affinity`.
        """
        if getattr(self, "_shared_names", None) is None:
            names = {id(p): name for name, p in self.module_.named_parameters()}
            self._shared_names = [names[id(p)] for p in self._shared]
        module = self.module_
        with rewound_rng(rng_before, self._device()) as rng:

            def lookahead_losses(values):
                rng.rewind()
                replaced = {n: b.clone() for n, b in module.named_buffers()}
                replaced.update(zip(self._shared_names, values))
                with self.autocast():
                    logits = torch.func.functional_call(module, replaced, (Xb,))
                return self.get_task_losses(logits, yb, training=True)[0]

            return lookahead_affinity(
                losses, present, self._shared, self._shared_lrs(), lookahead_losses
            )

    def get_task_losses(self, y_pred, y_true, training=False):
        """The vector of task losses of a batch and each task's labelled-row count.

        ``y_true`` is a batch's ``(codes, sample_weight)``. In training, an
        ensemble's ``y_pred`` has one row per member and row; each row's labels
        are repeated for its members.

        Returns
        -------
        losses : Tensor of shape (n_tasks,)
        denominators : Tensor of shape (n_tasks,)
        """
        codes, weight = y_true
        k = self.module_.ensemble_size
        if training and k > 1:
            # every member's rows are consecutive: repeat each row's labels k times
            codes = repeat_rows(codes, k)
            weight = None if weight is None else repeat_rows(weight, k)
        return task_losses(
            y_pred, codes, self.module_.split_sizes, self._class_weights_dev, weight,
            label_smoothing=self.label_smoothing if training else 0.0,
        )

    def get_loss(self, y_pred, y_true, X=None, training=False):
        """skorch's contract: one scalar, the mean of the task losses over the
        tasks labelled in the batch (the per-batch ``train_loss``)."""
        losses, denominators = self.get_task_losses(y_pred, y_true, training=training)
        return mean_task_loss(losses, denominators > 0)

    def ensemble_logits(self, Xb):
        """The forward pass seen from outside: the ensemble's log-probabilities
        when the module has members, else its logits."""
        logits = self.infer(Xb)
        k = self.module_.ensemble_size
        return logits if k == 1 else combine_members(logits, k, self.module_.split_sizes)

    def evaluation_step(self, batch, training=False):
        """skorch's forward pass of ``predict_proba`` and ``forward``: the
        ensemble's output (one row per input row), as in validation."""
        self.check_is_fitted()
        Xb = batch[0]
        with torch.set_grad_enabled(training):
            self._set_training(training)
            return self.ensemble_logits(Xb)

    def train_step(self, batch, **fit_params):
        """One optimizer step; keeps skorch's contract: the returned dict holds
        the scalar ``loss`` (when a callback listens to ``on_batch_end``) and
        ``y_pred`` (the module's output: with an ensemble, one row per member
        and row), and ``on_grad_computed`` is notified between the backward
        pass and the optimizer step."""
        # train/eval mode is set once per epoch in run_single_epoch
        self.optimizer_.zero_grad(set_to_none=True)
        Xb, yb = batch
        probe = getattr(self, "_affinity_probe", None)
        measure = probe is not None and probe.due()
        rng_before = rng_state(self._device()) if measure else None
        logits = self.infer(Xb, **fit_params)
        losses, denominators = self.get_task_losses(logits, yb, training=True)
        parallel = getattr(self, "_data_parallel", None)
        if parallel is not None:
            local = (losses, denominators > 0)
            # the global batch's losses, of gradient this process's share
            losses, denominators = parallel.reduce_losses(losses, denominators)
        present = denominators > 0
        if getattr(self, "initial_loss_", 0.0) is None and bool(present.any()):  # once a fit
            self.initial_loss_ = float(losses.detach()[present].mean())
        if measure:
            if parallel is None:
                probe.record(self.task_affinity(Xb, yb, losses, present, rng_before))
            else:  # each process measures on its rows; the mean is recorded everywhere
                probe.record(parallel.average(self.task_affinity(Xb, yb, *local, rng_before)))
        # data-parallel: the strategy draws from its own stream (the same on
        # every process), and the gradients are then summed over the processes
        stream = contextlib.nullcontext() if parallel is None else parallel.weighting_rng(
            self._device())
        with stream:
            weights = self.weighting.backward(losses, present, self._shared, self._specific)
        if parallel is not None:
            parallel.reduce_gradients(self._shared + self._specific,
                                      self.weighting.parameters())
        listeners = self._listeners("on_grad_computed")
        if listeners:
            self._notify_listeners(
                listeners, "on_grad_computed",
                named_parameters=TeeGenerator(self.get_all_learnable_params()),
                X=Xb, y=yb, batch=batch, training=True,
            )
        self.optimizer_.step()
        step = {
            "losses": losses.detach(),
            "denominators": denominators.detach(),
            "weights": weights.detach(),
            "y_pred": logits.detach(),
        }
        if self._listeners("on_batch_end") or not getattr(self, "_in_fit", False):
            step["loss"] = mean_task_loss(step["losses"], present)
        return step

    def validation_step(self, batch, **fit_params):
        Xb, yb = batch
        with torch.inference_mode():
            logits = self.ensemble_logits(Xb)
            losses, denominators = self.get_task_losses(logits, yb, training=False)
            codes = yb[0]
            correct = torch.stack(
                [
                    (chunk.argmax(1) == codes[:, t]).sum()
                    for t, chunk in enumerate(
                        torch.split(logits, self.module_.split_sizes, dim=1)
                    )
                ]
            )
            labelled = (codes >= 0).sum(0)
            if self._listeners("on_batch_end") or not getattr(self, "_in_fit", False):
                loss = mean_task_loss(losses, denominators > 0)
            else:
                loss = None
        return {
            "loss": loss,
            "losses": losses,
            "denominators": denominators,
            "correct": correct,
            "labelled": labelled,
            "y_pred": logits,  # the ensemble's output, as predict_proba sees it
        }

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        """skorch's epoch over ``iterator``, with the losses summed on the
        device and read back once per epoch.

        ``on_batch_begin`` and ``on_batch_end`` are only notified when a
        callback (or a subclass) overrides them; the history's per-batch rows
        (skorch's ``<prefix>_loss`` and ``<prefix>_batch_size``) are then
        written as each batch ends, and otherwise all at once at the end of
        the epoch, from one device-to-host read.
        """
        if iterator is None:
            return
        self._set_training(training)
        begin = self._listeners("on_batch_begin")
        end = self._listeners("on_batch_end")
        history = self.history
        loss_sum = denominator_sum = correct = labelled = weight_sum = None
        batch_losses, batch_denominators, batch_sizes = [], [], []
        n_batches = 0
        for batch in iterator:
            if begin or end:
                history.new_batch()  # what skorch's own on_batch_begin does
            if begin:
                self._notify_listeners(begin, "on_batch_begin", batch=batch,
                                       training=training)
            step = step_fn(batch, **fit_params)
            n_batches += 1
            if end:
                history.record_batch(prefix + "_loss", step["loss"].item())
                history.record_batch(prefix + "_batch_size", len(batch[0]))
                self._notify_listeners(end, "on_batch_end", batch=batch,
                                       training=training, **step)
            else:
                batch_losses.append(step["losses"])
                batch_denominators.append(step["denominators"])
                batch_sizes.append(len(batch[0]))
            if "weights" in step:
                weight_sum = step["weights"] if weight_sum is None else weight_sum + step["weights"]
            weighted = step["losses"] * step["denominators"]
            if loss_sum is None:
                loss_sum, denominator_sum = weighted, step["denominators"].clone()
            else:
                loss_sum = loss_sum + weighted
                denominator_sum = denominator_sum + step["denominators"]
            if "correct" in step:
                correct = step["correct"] if correct is None else correct + step["correct"]
                labelled = step["labelled"] if labelled is None else labelled + step["labelled"]
        if batch_sizes:
            self._record_batches(prefix, batch_losses, batch_denominators, batch_sizes)
        parallel = getattr(self, "_data_parallel", None)
        if parallel is not None and not training:
            # training steps already hold the global batch's losses
            loss_sum, denominator_sum, correct, labelled = self._reduce_validation(
                parallel, loss_sum, denominator_sum, correct, labelled)
        history.record(prefix + "_batch_count", n_batches)
        # one device -> host transfer per epoch
        per_task = (loss_sum / denominator_sum.clamp_min(1e-12)).tolist()
        observed = (denominator_sum > 0).tolist()
        for name, value, seen in zip(self.task_names, per_task, observed):
            history.record(task_key(prefix, name), value if seen else float("nan"))
        seen_values = [v for v, s in zip(per_task, observed) if s]
        mean_loss = float(np.mean(seen_values)) if seen_values else float("nan")
        history.record(f"{prefix}_loss", mean_loss)
        if weight_sum is not None:
            for name, value in zip(self.task_names, (weight_sum / n_batches).tolist()):
                history.record(weight_key(name), value)
        if training:
            self.weighting.end_epoch(
                np.array([v if s else np.nan for v, s in zip(per_task, observed)])
            )
        if correct is not None:
            rates = (correct.double() / labelled.clamp_min(1).double()).tolist()
            seen_rates = [r for r, c in zip(rates, labelled.tolist()) if c]
            history.record(
                f"{prefix}_acc", float(np.mean(seen_rates)) if seen_rates else float("nan")
            )

    def _reduce_validation(self, parallel, loss_sum, denominator_sum, correct, labelled):
        """The validation sums of an epoch over every process's share of the
        validation rows (zeros for a process whose share is empty)."""
        n_tasks, device = len(self.task_names), self._device()
        if loss_sum is None:
            loss_sum = torch.zeros(n_tasks, device=device)
            denominator_sum = torch.zeros(n_tasks, device=device)
        if correct is None:
            correct = torch.zeros(n_tasks, dtype=torch.int64, device=device)
            labelled = torch.zeros(n_tasks, dtype=torch.int64, device=device)
        return parallel.reduce_sums([loss_sum, denominator_sum, correct, labelled])

    def _record_batches(self, prefix, losses, denominators, sizes):
        """skorch's per-batch history rows of an epoch, written at its end: the
        mean task loss of each batch (as ``get_loss``) and its row count."""
        losses, denominators = torch.stack(losses), torch.stack(denominators)
        present = (denominators > 0).to(losses.dtype)
        means = ((losses * present).sum(1) / present.sum(1).clamp_min(1.0)).tolist()
        history = self.history
        for loss, size in zip(means, sizes):
            history.new_batch()
            history.record_batch(prefix + "_loss", loss)
            history.record_batch(prefix + "_batch_size", size)

    # ------------------------------------------------------------ inference
    def _batched(self, X, function):
        self._set_training(False)
        iterator = self.get_iterator(self.prepare_data(X), training=False)
        outputs = []
        with torch.inference_mode(), self.autocast():
            for Xb, _ in iterator:
                outputs.append(function(Xb).float().cpu())
        return torch.cat(outputs) if outputs else torch.empty(0)

    def predict_logits(self, X):
        """Concatenated logits of ``X`` (numpy float32 or CSR) as a CPU tensor."""
        return self._batched(X, self.ensemble_logits)

    def predict_embedding(self, X):
        """The module's shared representation of ``X`` as a CPU tensor."""
        return self._batched(X, self.module_.embed)
