"""The data path: tensors prepared once, sliced into batches, split for validation.

* :func:`prepare_data`: ``X`` (dense or CSR), the task codes and the sample
  weights as tensors on the training device, scaled once when that pays.
* :class:`TensorData`: rows of those tensors; a subset is a view (row
  positions), never a copy.
* :class:`BatchIterator`: re-iterable mini-batches sliced from a
  :class:`TensorData` (skorch asks for the iterator once per fit), or one
  process's share of each under data-parallel training.
* :class:`ValidationSplit`: the early-stopping hold-out (not stratified; whole
  groups with ``groups``).
* :class:`BlockData` and :class:`BlockIterator`: the same for a Dask array
  ``X``, read a window of blocks at a time (out-of-core training).

A memory map is sliced like any array (a float32 one through a tensor that
shares its pages; another dtype kept as a NumPy array, each batch converted to
float32 as it is read). The labels, sample weights and the rows' positions are
always in memory: one value (or one per task) per row, small beside ``X``.
"""

import warnings

import numpy as np
import scipy.sparse as sp
import torch

from ._validation import _is_dask_array, _is_memory_mapped, check_finite_rows
from .modules._scaling import _QUANTILE_ROWS

# Keep X on the GPU when it takes at most this share of the free memory.
_DEVICE_MEMORY_SHARE = 0.5
# The training rows are scaled once per fit (a float32 copy of X) up to this size;
# beyond it, or for sparse or memory-mapped X, each batch is scaled as it is read.
_SCALED_COPY_MAX_BYTES = 2**30
_SCALE_CHUNK_ROWS = 65_536
# the linear path's logistic regressions are fitted on at most this many rows
_LINEAR_PATH_ROWS = 20_000
# A Dask X is read this many bytes of its blocks at a time (at least one block,
# with one dask.compute): the window whose rows are shuffled together, and the
# bound on the memory that reading X takes (about twice this: the blocks as
# read, then their rows in float32).
_WINDOW_BYTES = 2**28


def prepare_data(X, codes, sample_weight, device, module, scale=False):
    """Move the data to where batches will be sliced from, once.

    With ``scale``, a dense in-memory ``X`` of at most
    ``_SCALED_COPY_MAX_BYTES`` goes through ``module``'s fixed input
    scaling here, once, into a copy (the caller's ``X`` is untouched), so
    that no batch pays for it again; the result says so (``scaled``).
    """
    if _is_dask_array(X):
        return BlockData(X, *_row_tensors(codes, sample_weight))
    scaled = False
    if isinstance(X, np.ndarray) and X.dtype != np.float32:
        # a memory map of another dtype (see _validation._is_streamed): each
        # batch is converted to float32 as it is read, never the whole array
        return TensorData(X, *_row_tensors(codes, sample_weight))
    if not sp.issparse(X):
        scale = scale and _worth_scaling_once(X, module)
        mapped = _is_memory_mapped(X)
        with warnings.catch_warnings():
            # read-only input (a memmap): we never write to it, so share it
            warnings.filterwarnings("ignore", message="The given NumPy array")
            X = torch.from_numpy(X)
        if device.type == "cuda":
            free, _ = torch.cuda.mem_get_info(device)
            if X.element_size() * X.nelement() <= _DEVICE_MEMORY_SHARE * free:
                X = X.to(device)
            elif not mapped:
                # a memory map stays on the disk: each batch is pinned as it is read
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


def _row_tensors(codes, sample_weight):
    """The codes and sample weights as CPU tensors (``None`` stays ``None``)."""
    return (None if codes is None else torch.from_numpy(codes),
            None if sample_weight is None else torch.from_numpy(sample_weight))


def statistics_sample(X):
    """The rows of ``X`` that the data-derived statistics are computed on.

    ``X`` itself when it is in memory as float32 (or sparse): the statistics
    subsample it with a stride. A Dask array, or a memory map of another
    dtype, gives that strided sample here, read once, in float32 (the values
    that the network will see).
    """
    if not (_is_dask_array(X) or (isinstance(X, np.ndarray) and X.dtype != np.float32)):
        return X
    step = max(1, X.shape[0] // _QUANTILE_ROWS)  # as robust_statistics
    if _is_dask_array(X):
        rows = _dask_sample(X[::step])
    else:
        rows = np.asarray(X[::step], dtype=np.float32)
    if not np.isfinite(rows).all():  # say where, as the batches would
        row = int(np.flatnonzero(~np.isfinite(rows).all(axis=1))[0]) * step
        block = None
        if _is_dask_array(X):
            starts = np.cumsum((0,) + X.chunks[0])
            b = int(np.searchsorted(starts, row, side="right")) - 1
            block = (b, starts[b], starts[b + 1] - 1)
        check_finite_rows(np.asarray(X[row:row + 1], dtype=np.float32), row, block)
    return rows


def _dask_sample(sample):
    """The lazy Dask array ``sample`` (a few rows of each block) computed into
    one float32 array, a window of blocks at a time (``np.asarray`` would hold
    the blocks' pieces and their concatenation at once)."""
    import dask

    out = np.empty(sample.shape, dtype=np.float32)
    starts = np.concatenate([[0], np.cumsum(sample.chunks[0])]).astype(np.int64)
    per_window = max(1, _WINDOW_BYTES // max(1, out[:1].nbytes * int(max(sample.chunks[0]))))
    for first in range(0, len(starts) - 1, per_window):
        blocks = range(first, min(first + per_window, len(starts) - 1))
        for b, part in zip(blocks, dask.compute(*[sample.blocks[b] for b in blocks])):
            out[starts[b]:starts[b + 1]] = part
    return out


class TensorData(torch.utils.data.Dataset):
    """Rows of ``X`` with their task codes and sample weights.

    ``X`` is a float tensor (already on its device), a scipy CSR matrix,
    which is densified one batch at a time, or a NumPy array of another dtype
    than float32 (a memory map), converted one batch at a time. A subset (the training or the
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
        elif isinstance(X, np.ndarray):
            rows = index.cpu().numpy() if torch.is_tensor(index) else index
            Xb = torch.from_numpy(np.asarray(X[rows], dtype=np.float32))
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

    Under data-parallel training (:mod:`sklearn_mtl._distributed`), process
    ``rank`` of ``size`` gets its share of each batch, rows ``rank, rank +
    size, ...``: the batches themselves are those one process draws (the
    same bounds, the same order from the same generator).
    """

    def __init__(self, data, batch_size, shuffle, generator, device, rank=0, size=1):
        self.data = data
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.generator = generator
        self.device = device
        self.rank = rank
        self.size = size

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
    return not _is_memory_mapped(X) and X.nbytes <= _SCALED_COPY_MAX_BYTES


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
    if not torch.is_tensor(data.X):  # sparse, NumPy, Dask
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


class BlockData:
    """Rows of a Dask array ``X``, read a window of blocks at a time.

    The counterpart of :class:`TensorData` for ``X`` that does not fit in
    memory: ``X`` stays a lazy Dask array (one chunk along the columns, so
    that a block holds whole rows); the task codes and sample weights are CPU
    tensors. A subset (the training or validation rows of an early-stopping
    split) keeps the sorted positions of its rows, ``rows``: a pass over it
    reads every block that holds one of them and keeps only those. Each block
    is checked for NaN and infinity as it is read.
    """

    def __init__(self, X, codes=None, sample_weight=None, rows=None):
        self.X = X
        self.codes = codes
        self.sample_weight = sample_weight
        self.rows = rows
        self.scaled = False  # a Dask X is scaled batch by batch, in the network
        self.starts = np.concatenate([[0], np.cumsum(X.chunks[0])]).astype(np.int64)

    def __len__(self):
        return int(self.X.shape[0]) if self.rows is None else len(self.rows)

    def __getitem__(self, i):
        return self.batch(torch.tensor([i]))

    def subset(self, index):
        """The rows at ``index`` (a LongTensor of positions in this data):
        their positions in ``X``, sorted; nothing is read."""
        index = torch.as_tensor(index).cpu()
        rows = index if self.rows is None else self.rows[index]
        return BlockData(self.X, self.codes, self.sample_weight, torch.sort(rows).values)

    def _positions(self):
        """The positions in ``X`` of this data's rows, sorted, as NumPy."""
        if self.rows is None:
            return np.arange(len(self), dtype=np.int64)
        return self.rows.numpy()

    def plan(self, positions=None):
        """``[(block, positions of rows in X)]`` for the blocks that hold one of
        ``positions`` (sorted; default: this data's rows), in block order."""
        positions = self._positions() if positions is None else positions
        bounds = np.searchsorted(positions, self.starts)
        return [(b, positions[bounds[b]:bounds[b + 1]])
                for b in range(len(self.starts) - 1) if bounds[b + 1] > bounds[b]]

    def read(self, plan):
        """For each window of the blocks of ``plan``, ``(X_rows, positions)``:
        the float32 rows at ``positions`` (NumPy), read with one
        ``dask.compute`` per window of at most ``_WINDOW_BYTES``."""
        import dask

        row_bytes = self.X.shape[1] * self.X.dtype.itemsize
        window, size = [], 0
        for b, positions in plan:
            block_bytes = (self.starts[b + 1] - self.starts[b]) * row_bytes
            if window and size + block_bytes > _WINDOW_BYTES:
                yield self._read_window(window, dask)
                window, size = [], 0
            window.append((b, positions))
            size += block_bytes
        if window:
            yield self._read_window(window, dask)

    def _read_window(self, window, dask):
        blocks = dask.compute(*[self.X.blocks[b] for b, _ in window])
        parts = []
        for (b, positions), block in zip(window, blocks):
            start = int(self.starts[b])
            block = np.asarray(block, dtype=np.float32)
            check_finite_rows(block, start, block=(b, start, self.starts[b + 1] - 1))
            if len(positions) < len(block):
                block = block[positions - start]
            parts.append(block)
        X = parts[0] if len(parts) == 1 else np.concatenate(parts)
        return X, np.concatenate([positions for _, positions in window])

    def rows_of(self, X, positions, device=None):
        """``(X_batch, (codes_batch, weight_batch))`` of NumPy rows and their
        positions in ``X``, as tensors on ``device``."""
        index = torch.from_numpy(positions)
        Xb = torch.from_numpy(X)
        codes = None if self.codes is None else self.codes[index]
        weight = None if self.sample_weight is None else self.sample_weight[index]
        if device is not None and device.type != "cpu":
            if device.type == "cuda":
                Xb = Xb.pin_memory()
            Xb = Xb.to(device, non_blocking=True)
            codes = None if codes is None else codes.to(device, non_blocking=True)
            weight = None if weight is None else weight.to(device, non_blocking=True)
        return Xb, (codes, weight)

    def batch(self, index, device=None):
        """``(X_batch, (codes_batch, weight_batch))`` for a LongTensor of
        positions in this data (any order), read from the blocks that hold
        them (e.g. the linear path's strided sample)."""
        wanted = self._positions()[torch.as_tensor(index).cpu().numpy()]
        order = np.argsort(wanted, kind="stable")
        pieces = list(self.read(self.plan(np.unique(wanted))))
        X = np.concatenate([x for x, _ in pieces])
        read = np.concatenate([p for _, p in pieces])  # sorted, unique
        X = X[np.searchsorted(read, wanted[order])][np.argsort(order)]
        return self.rows_of(X, wanted, device)


class BlockIterator:
    """Re-iterable mini-batches of a :class:`BlockData`.

    Each pass reads the blocks, with ``shuffle`` in a random order, a window
    (``_WINDOW_BYTES``) at a time, shuffles the rows of a window together
    with those left over from the previous one, and yields full batches; the
    rows left over go on to the next window, so that every batch but the last
    has ``batch_size`` rows (a last batch of one row joins the one before, as
    in :class:`BatchIterator`). Without ``shuffle``, rows come in the order of
    ``X`` (prediction). Memory: one window, not ``X``.
    """

    __init__ = BatchIterator.__init__

    def __len__(self):
        n, size = len(self.data), self.batch_size
        batches = -(-n // size)
        return batches - 1 if batches > 1 and n % size == 1 else batches

    def _rows(self, pending):
        """A batch ``(X rows, positions)`` as tensors: this process's share."""
        X, positions = pending
        if self.size > 1:  # data-parallel: every process reads the same windows
            share = slice(self.rank, None, self.size)
            X, positions = X[share], positions[share]
        return self.data.rows_of(X, positions, self.device)

    def __iter__(self):
        data, size = self.data, self.batch_size
        plan = data.plan()
        if self.shuffle:
            order = torch.randperm(len(plan), generator=self.generator).tolist()
            plan = [plan[i] for i in order]
        left_X = left_pos = None
        pending = None
        for X, positions in data.read(plan):
            if left_X is not None and len(left_X):
                X, positions = np.concatenate([left_X, X]), np.concatenate([left_pos, positions])
            if self.shuffle:
                take = torch.randperm(len(positions), generator=self.generator).numpy()
            else:
                take = None  # in order: batches are views of the window
            full = len(positions) // size * size
            for start in range(0, full, size):
                if pending is not None:
                    yield self._rows(pending)
                rows = slice(start, start + size) if take is None else take[start:start + size]
                pending = (X[rows], positions[rows])
            rest = slice(full, None) if take is None else take[full:]
            left_X, left_pos = X[rest].copy(), positions[rest]
            del X, positions  # before the next window is read: one window at a time
        if left_X is not None and len(left_X):
            if len(left_X) == 1 and pending is not None:
                # a one-row batch breaks batch norm and gives a noisy step: merge it
                pending = (np.concatenate([pending[0], left_X]),
                           np.concatenate([pending[1], left_pos]))
            else:
                if pending is not None:
                    yield self._rows(pending)
                pending = (left_X, left_pos)
        if pending is not None:
            yield self._rows(pending)
