"""The data path: tensors prepared once, sliced into batches, split for validation.

* :func:`prepare_data`: ``X`` (dense or CSR), the task codes and the sample
  weights as tensors on the training device, scaled once when that pays.
* :class:`TensorData`: rows of those tensors; a subset is a view (row
  positions), never a copy.
* :class:`BatchIterator`: re-iterable mini-batches sliced from a
  :class:`TensorData` (skorch asks for the iterator once per fit);
  :class:`ShardedBatchIterator`: one process's share of each batch under
  data-parallel training.
* :class:`ValidationSplit`: the early-stopping hold-out (not stratified; whole
  groups with ``groups``).
"""

import mmap
import warnings

import numpy as np
import scipy.sparse as sp
import torch

# Keep X on the GPU when it takes at most this share of the free memory.
_DEVICE_MEMORY_SHARE = 0.5
# The training rows are scaled once per fit (a float32 copy of X) up to this size;
# beyond it, or for sparse or memory-mapped X, each batch is scaled as it is read.
_SCALED_COPY_MAX_BYTES = 2**30
_SCALE_CHUNK_ROWS = 65_536
# the linear path's logistic regressions are fitted on at most this many rows
_LINEAR_PATH_ROWS = 20_000


def prepare_data(X, codes, sample_weight, device, module, scale=False):
    """Move the data to where batches will be sliced from, once.

    With ``scale``, a dense in-memory ``X`` of at most
    ``_SCALED_COPY_MAX_BYTES`` goes through ``module``'s fixed input
    scaling here, once, into a copy (the caller's ``X`` is untouched), so
    that no batch pays for it again; the result says so (``scaled``).
    """
    scaled = False
    if not sp.issparse(X):
        scale = scale and _worth_scaling_once(X, module)
        with warnings.catch_warnings():
            # read-only input (a memmap): we never write to it, so share it
            warnings.filterwarnings("ignore", message="The given NumPy array")
            X = torch.from_numpy(X)
        if device.type == "cuda":
            free, _ = torch.cuda.mem_get_info(device)
            if X.element_size() * X.nelement() <= _DEVICE_MEMORY_SHARE * free:
                X = X.to(device)
            else:
                X = X.pin_memory()
        if scale:
            X, scaled = _scale_once(X, module.trunk), True
    index_device = device if (not sp.issparse(X) and X.device == device) else None
    target_device = index_device or torch.device("cpu")
    if codes is not None:
        codes = torch.from_numpy(codes).to(target_device)
    if sample_weight is not None:
        sample_weight = torch.from_numpy(sample_weight).to(target_device)
    return TensorData(X, codes, sample_weight, scaled=scaled)


class TensorData(torch.utils.data.Dataset):
    """Rows of ``X`` with their task codes and sample weights.

    ``X`` is a float tensor (already on its device) or a scipy CSR matrix,
    which is densified one batch at a time. A subset (the training or the
    validation rows of an early-stopping split) keeps the full arrays and the
    positions of its rows, ``rows``, so that splitting copies nothing: each
    batch gathers its rows from the caller's ``X``, as without a split.
    """

    def __init__(self, X, codes=None, sample_weight=None, rows=None, scaled=False):
        self.X = X
        self.codes = codes
        self.sample_weight = sample_weight
        self.rows = rows
        self.scaled = scaled  # X already went through the module's fixed input scaling

    def __len__(self):
        return self.X.shape[0] if self.rows is None else len(self.rows)

    def __getitem__(self, i):
        return self.batch(slice(i, i + 1))

    def subset(self, index):
        """The rows at ``index`` (a LongTensor), as a view: no data is copied."""
        index = index.to(_index_device(self))
        rows = index if self.rows is None else self.rows[index]
        return TensorData(self.X, self.codes, self.sample_weight, rows, self.scaled)

    def batch(self, index, device=None):
        """``(X_batch, (codes_batch, weight_batch))`` for an index or a slice."""
        if self.rows is not None:
            index = self.rows[index]
        X = self.X
        if sp.issparse(X):
            rows = index.cpu().numpy() if torch.is_tensor(index) else index
            Xb = torch.from_numpy(X[rows].toarray())
        else:
            Xb = X[index]
        if device is not None and Xb.device != device:
            if Xb.device.type == "cpu" and device.type == "cuda":
                Xb = Xb.pin_memory()
            Xb = Xb.to(device, non_blocking=True)
        codes = None if self.codes is None else self.codes[index]
        weight = None if self.sample_weight is None else self.sample_weight[index]
        if device is not None and codes is not None and codes.device != device:
            codes = codes.to(device, non_blocking=True)
            weight = None if weight is None else weight.to(device, non_blocking=True)
        return Xb, (codes, weight)


class BatchIterator:
    """Re-iterable mini-batches of a :class:`TensorData`.

    skorch asks for the iterator once per ``fit``, so this must be iterable
    many times (a generator would silently train a single epoch).
    """

    def __init__(self, data, batch_size, shuffle, generator, device):
        self.data = data
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.generator = generator
        self.device = device

    def _bounds(self):
        n, size = len(self.data), self.batch_size
        starts = list(range(0, n, size))
        if len(starts) > 1 and n - starts[-1] == 1:
            # a one-row batch breaks batch norm and gives a noisy step: merge it
            starts.pop()
        return list(zip(starts, starts[1:] + [n]))

    def __len__(self):
        return len(self._bounds())

    def __iter__(self):
        bounds = self._bounds()
        if self.shuffle:
            order = torch.randperm(
                len(self.data), generator=self.generator, device=self.generator.device
            )
            index_device = _index_device(self.data)
            if order.device != index_device:
                order = order.to(index_device)
            for start, stop in bounds:
                yield self.data.batch(order[start:stop], self.device)
        else:
            for start, stop in bounds:
                yield self.data.batch(slice(start, stop), self.device)


class ShardedBatchIterator(BatchIterator):
    """The batches of :class:`BatchIterator`, each cut to one process's share
    under data-parallel training (:mod:`sklearn_mtl._distributed`).

    The global batches are those one process draws (the same bounds, the
    same shuffled order from the same generator); process ``rank`` of
    ``size`` takes each batch's rows ``rank, rank + size, ...``.
    """

    def __init__(self, data, batch_size, shuffle, generator, device, rank, size):
        super().__init__(data, batch_size, shuffle, generator, device)
        self.rank = rank
        self.size = size

    def __iter__(self):
        bounds = self._bounds()
        rank, size = self.rank, self.size
        if self.shuffle:
            order = torch.randperm(
                len(self.data), generator=self.generator, device=self.generator.device
            )
            index_device = _index_device(self.data)
            if order.device != index_device:
                order = order.to(index_device)
            for start, stop in bounds:
                yield self.data.batch(order[start + rank:stop:size], self.device)
        else:
            for start, stop in bounds:
                yield self.data.batch(slice(start + rank, stop, size), self.device)


def _worth_scaling_once(X, module):
    """Whether the training rows should be scaled once rather than per batch:
    the module has a fixed input scaling, and ``X`` is in memory (not a memory
    map, whose copy would not fit) and small enough to copy."""
    if not getattr(getattr(module, "trunk", None), "has_scaling", False):
        return False
    base = X
    while base is not None:
        if isinstance(base, (np.memmap, mmap.mmap)):
            return False
        base = getattr(base, "base", None)
    return X.nbytes <= _SCALED_COPY_MAX_BYTES


def _scale_once(X, trunk):
    """``trunk.scale`` applied to every row of the tensor ``X``, in chunks, into a
    new tensor on ``X``'s device."""
    out = torch.empty_like(X)
    with torch.no_grad():
        for start in range(0, X.shape[0], _SCALE_CHUNK_ROWS):
            stop = start + _SCALE_CHUNK_ROWS
            out[start:stop] = trunk.scale(X[start:stop])
    return out


def training_sample(data, device, scale):
    """``(X, codes, sample_weight)`` of at most ``_LINEAR_PATH_ROWS`` rows of
    ``data`` (a strided sample), on ``device``, ``X`` through ``scale`` unless
    already scaled."""
    n = len(data)
    index = torch.arange(0, n, max(1, n // _LINEAR_PATH_ROWS), device=_index_device(data))
    Xb, (codes, weight) = data.batch(index, device)
    Xb = Xb.float()
    if not data.scaled:
        with torch.no_grad():
            Xb = scale(Xb)
    return Xb, codes, weight


def _index_device(data):
    if sp.issparse(data.X):
        return torch.device("cpu")
    return data.X.device


class ValidationSplit:
    """Hold out a random ``fraction`` of the rows for validation.

    Not stratified: skorch's default split stratifies on ``y``, which fails on
    a 2-D target. With ``groups`` (one integer code per row of the full data),
    whole groups are held out, so that no group has rows on both sides.
    """

    def __init__(self, fraction, seed, groups=None):
        self.fraction = fraction
        self.seed = seed
        self.groups = groups

    def __call__(self, dataset, y=None, **fit_params):
        # rows without any label teach nothing and cannot validate: train on them
        codes = dataset.codes if dataset.rows is None else dataset.codes[dataset.rows]
        labelled = (codes >= 0).any(dim=1).cpu()
        candidates = torch.nonzero(labelled).flatten()
        unlabelled = torch.nonzero(~labelled).flatten()
        n = len(candidates)
        if n < 2:
            raise ValueError(
                "early_stopping needs at least 2 labelled samples to hold out a "
                f"validation set; got {n}. Set early_stopping=False."
            )
        n_valid = min(max(int(round(self.fraction * n)), 1), n - 1)
        generator = torch.Generator().manual_seed(self.seed)
        if self.groups is not None:
            return self._split_groups(dataset, labelled, n_valid, generator)
        order = candidates[torch.randperm(n, generator=generator)]
        train = torch.cat([order[n_valid:], unlabelled])
        return dataset.subset(train), dataset.subset(order[:n_valid])

    def _split_groups(self, dataset, labelled, n_valid, generator):
        """Whole groups, in random order, until ``n_valid`` labelled rows are held out."""
        groups = torch.as_tensor(self.groups)
        if dataset.rows is not None:
            groups = groups[dataset.rows.cpu()]
        unique, inverse = torch.unique(groups, return_inverse=True)
        if len(unique) < 2:
            raise ValueError(
                "early_stopping with groups needs at least 2 groups to hold out a "
                f"validation set; got {len(unique)}. Pass more groups or set "
                "early_stopping=False."
            )
        labelled_per_group = torch.bincount(inverse, weights=labelled.double(),
                                            minlength=len(unique))
        order = torch.randperm(len(unique), generator=generator)
        cumulative = torch.cumsum(labelled_per_group[order], 0)
        # at least one group, never all of them
        n_groups = int(torch.searchsorted(cumulative, float(n_valid)).item()) + 1
        n_groups = min(max(n_groups, 1), len(unique) - 1)
        held_out = torch.zeros(len(unique), dtype=torch.bool)
        held_out[order[:n_groups]] = True
        valid_row = held_out[inverse] & labelled
        train = torch.nonzero(~valid_row).flatten()
        valid = torch.nonzero(valid_row).flatten()
        return dataset.subset(train), dataset.subset(valid)
