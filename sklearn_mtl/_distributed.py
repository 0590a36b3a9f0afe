"""Data-parallel training over several processes, with ``torch.distributed``.

When a process group of more than one process is initialised at ``fit`` time
(by the user, or by ``torchrun``), every process calls ``fit`` with the same
data and parameters, and each global batch (the rows one process would draw
with the same ``batch_size`` and seed) is split across the processes: process
``r`` of ``w`` takes the batch's rows ``r, r + w, r + 2w, ...``. Every process
holds a whole copy of the model and applies the same update, so they all end
with the same model: the one a single process trains on the global batch,
within floating-point rounding.

This is the design of PyTorch's ``DistributedDataParallel`` (Li et al., 2020:
replicated model, gradients summed across processes in flattened buckets
before the optimizer step), done here by hand for two reasons:

* a task loss is a weighted mean over the rows labelled for the task. The
  mean of each process's mean is not the global batch's mean when processes
  see different numbers of labelled rows (missing labels, sample and class
  weights), so the processes first sum each task's denominator, and each
  differentiates its rows' share of the global mean
  (:meth:`DataParallel.reduce_losses`);
* the strategy's backward may run several backward passes: gradients are
  reduced once, after it (:meth:`DataParallel.reduce_gradients`), not on
  every backward pass as ``DistributedDataParallel`` does.

Batch norm normalises with each process's own batch statistics (as
``DistributedDataParallel`` without ``SyncBatchNorm``) and dropout masks are
each process's own draws: with either, the processes still agree with one
another, but not with the one-process model. The look-ahead task affinity
(``affinity_every``) is measured by each process on its rows and averaged.

Strategies that need each task's gradient of the shared layers on the whole
batch (``BaseWeighting.per_task_gradients``) are refused: the sum of the
processes' gradients is the gradient of a sum, but their Gram matrix, norms
and projections are not sums.

References
----------
.. [1] S. Li, Y. Zhao, R. Varma, O. Salpekar, P. Noordhuis, T. Li, A. Paszke,
   J. Smith, B. Vaughan, P. Damania and S. Chintala, "PyTorch Distributed:
   experiences on accelerating data parallel training", Proceedings of the
   VLDB Endowment 13(12), 2020.
"""

import os

import torch

from ._random import rng_state, set_rng_state


def _group_size():
    """The number of processes of the initialised default group, or 1."""
    dist = torch.distributed
    if not (dist.is_available() and dist.is_initialized()):
        return 1
    return dist.get_world_size()


def is_data_parallel():
    """Whether a ``fit`` now trains data-parallel: ``torch.distributed`` has an
    initialised default group of more than one process."""
    return _group_size() > 1


def local_cuda_device():
    """The CUDA device of this process under data-parallel training,
    ``"cuda:<LOCAL_RANK>"`` (``torchrun`` sets ``LOCAL_RANK``; without it,
    the rank modulo the number of visible devices); None otherwise."""
    if not is_data_parallel() or not torch.cuda.is_available():
        return None
    local = os.environ.get("LOCAL_RANK")
    index = int(local) if local is not None else (
        torch.distributed.get_rank() % torch.cuda.device_count()
    )
    return f"cuda:{index}"


def _collective_device():
    """Where a tensor must live for a collective of the default group: NCCL
    only moves CUDA tensors."""
    if torch.distributed.get_backend() == "nccl":
        return torch.device(local_cuda_device() or "cuda")
    return torch.device("cpu")


def broadcast_seed(seed):
    """``seed`` as process 0 drew it, under data-parallel training (every
    process then builds the same initial network, splits the same validation
    rows and shuffles the same batches); ``seed`` itself otherwise."""
    if not is_data_parallel():
        return seed
    value = torch.tensor([seed], dtype=torch.int64, device=_collective_device())
    torch.distributed.broadcast(value, src=0)
    return int(value.item())


def data_parallel(weighting, device):
    """A :class:`DataParallel` for this process when ``fit`` trains
    data-parallel (on ``device``), else None. Call it as training begins:
    the weighting strategy's random stream starts from the global RNG's
    state then.

    Raises
    ------
    ValueError
        When ``weighting`` needs per-task gradients of the whole batch.
    """
    size = _group_size()
    if size <= 1:
        return None
    if getattr(weighting, "per_task_gradients", False):
        from .weighting import WEIGHTINGS

        working = sorted(
            name for name, cls in WEIGHTINGS.items()
            if not getattr(cls, "per_task_gradients", False)
        )
        refused = sorted(
            name for name, cls in WEIGHTINGS.items()
            if getattr(cls, "per_task_gradients", False)
        )
        raise ValueError(
            f"weighting={type(weighting).__name__}() cannot train data-parallel over "
            f"{size} processes: it combines each task's gradient of the shared layers "
            "on the whole batch (norms, Gram matrices, projections), which the "
            "processes' gradients on their shares of the batch do not add up to. "
            f"Use a loss-based strategy ({', '.join(repr(n) for n in working)}), or "
            f"train in one process for {', '.join(repr(n) for n in refused)}."
        )
    return DataParallel(torch.distributed.get_rank(), size, rng_state(device))


class DataParallel:
    """This process's part in data-parallel training: which rows it takes and
    the reductions that make every process's step the global batch's step.

    Parameters
    ----------
    rank : int
        This process's rank in the default group.
    size : int
        The number of processes.
    rng : tuple, optional
        Where the weighting strategy's own stream of the global RNG starts
        (:func:`~sklearn_mtl._random.rng_state`; the same on every process).
    """

    def __init__(self, rank, size, rng=None):
        self.rank = rank
        self.size = size
        self._rng = rng

    def shard(self, n):
        """Positions ``rank, rank + size, ...`` of ``n`` rows (a LongTensor)."""
        return torch.arange(self.rank, n, self.size)

    def _sum(self, tensor):
        """``tensor`` summed over the processes, in place (moved to the
        collective's device and back when needed)."""
        device = _collective_device()
        if tensor.device == device:
            torch.distributed.all_reduce(tensor)
            return tensor
        moved = tensor.to(device)
        torch.distributed.all_reduce(moved)
        return tensor.copy_(moved)

    def reduce_losses(self, losses, denominators):
        """The global batch's task losses, from this process's rows.

        Parameters
        ----------
        losses : Tensor of shape (n_tasks,)
            The masked weighted means over this process's rows
            (:func:`~sklearn_mtl._loss.task_losses`), in the graph.
        denominators : Tensor of shape (n_tasks,)
            Their sums of weights.

        Returns
        -------
        losses : Tensor of shape (n_tasks,)
            Of value the global batch's losses ``sum_r N_r / sum_r D_r``
            (``N_r = L_r D_r``, each process's numerator), the same on every
            process, and of gradient this process's share
            ``grad N_r / sum_r D_r``: the processes' gradients sum to the
            gradient of the global losses.
        denominators : Tensor of shape (n_tasks,)
            The global ``sum_r D_r``.
        """
        numerators = losses * denominators
        n_tasks = losses.shape[0]
        sums = self._sum(torch.cat([numerators.detach(), denominators.detach()]))
        total, denominator = sums[:n_tasks], sums[n_tasks:]
        scale = denominator.clamp_min(1e-12)
        share = numerators / scale
        # value exactly total / scale on every process, gradient that of share
        return total / scale + (share - share.detach()), denominator

    def reduce_gradients(self, parameters, averaged=()):
        """Sum the gradients of ``parameters`` (the module's: each process holds
        its share of the global batch's) and average those of ``averaged``
        (the weighting strategy's: the same on every process, as they depend
        on the global losses only), in one collective.

        A parameter whose gradient is None on every process keeps None (the
        optimizer then leaves it, and its moments, alone, as in one process).
        """
        parameters, averaged = list(parameters), list(averaged)
        every = parameters + averaged
        if not every:
            return
        reference = every[0]
        chunks = [
            (p.grad.detach().reshape(-1).float() if p.grad is not None
             else torch.zeros(p.numel(), device=reference.device))
            for p in every
        ]
        has = torch.tensor([p.grad is not None for p in every], dtype=torch.float32,
                           device=reference.device)
        flat = self._sum(torch.cat(chunks + [has]))
        flags = flat[-len(every):].tolist()  # one device-to-host read
        offset = 0
        n_summed = len(parameters)
        for i, p in enumerate(every):
            n = p.numel()
            chunk = flat[offset:offset + n].view_as(p)
            offset += n
            if i >= n_summed:
                chunk = chunk / self.size
            if flags[i] == 0:
                p.grad = None
            elif p.grad is None:
                p.grad = chunk.to(p.dtype).clone()
            else:
                p.grad.copy_(chunk)

    def reduce_sums(self, tensors):
        """Each of ``tensors`` (1-D, any numeric dtype, on one device) summed
        over the processes, in one collective of float64 (exact for counts
        below 2**53)."""
        sizes = [t.numel() for t in tensors]
        flat = self._sum(torch.cat([t.detach().double().reshape(-1) for t in tensors]))
        return [part.to(t.dtype) for part, t in zip(torch.split(flat, sizes), tensors)]

    def average(self, tensor):
        """The mean over the processes of ``tensor`` (a new tensor)."""
        return self._sum(tensor.detach().clone()) / self.size

    def weighting_rng(self, device):
        """A context in which the global RNG is the weighting strategy's own
        stream (see :class:`_WeightingRNG`)."""
        return _WeightingRNG(self, device)


class _WeightingRNG:
    """Run the strategy's backward on its own stream of the global RNG.

    Dropout draws as many numbers as a process has rows, so the processes'
    global generators part ways after the first step with dropout; a strategy
    that draws (RLW) would then apply different weights on each process. Its
    stream starts where the global generator is as training begins (the same
    on every process: ``fit`` seeds it) and carries on from call to call,
    untouched by dropout. Without dropout it draws exactly what one process
    draws.
    """

    def __init__(self, parallel, device):
        self.parallel = parallel
        self.device = device

    def __enter__(self):
        self.saved = rng_state(self.device)
        set_rng_state(self.parallel._rng, self.device)
        return self

    def __exit__(self, *exc):
        self.parallel._rng = rng_state(self.device)
        set_rng_state(self.saved, self.device)
        return False
