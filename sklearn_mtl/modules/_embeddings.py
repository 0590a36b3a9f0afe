"""Embeddings of numerical features, and the linear path beside the network.

* :class:`PeriodicEmbeddings`: each feature ``x_j`` becomes
  ``ReLU(Linear([cos(2 pi c_j x_j), sin(2 pi c_j x_j)]))`` with trainable
  frequencies ``c_j`` (PLR, Gorishniy, Rubachev & Babenko, 2022).
* :class:`PiecewiseLinearEmbeddings`: each feature is encoded by where it falls
  among quantile bins, then mapped by a linear layer of its own and a ReLU
  (PLE with Q-LR, the same paper).
* :class:`LinearPath`: one linear term per task on the (scaled) inputs, added
  to the network's logits (the "wide" part of Wide & Deep, Cheng et al., 2016).

All map a float batch ``(n, n_features)``: the embeddings to
``(n, n_features * embedding_dim)`` (one vector per feature, concatenated),
the linear path to ``(n, sum(n_classes))``.
"""

import math

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn


def _feature_linear_init(weight, bias, fan_in):
    """Each feature's linear layer initialised as ``nn.Linear`` does
    (uniform within ``1 / sqrt(fan_in)``)."""
    bound = 1 / math.sqrt(fan_in)
    nn.init.uniform_(weight, -bound, bound)
    nn.init.uniform_(bias, -bound, bound)


class PeriodicEmbeddings(nn.Module):
    """Periodic embeddings with a linear layer and a ReLU (PLR).

    For feature ``j`` with trainable frequencies ``c_j`` of shape ``(k,)``,
    initialised from ``N(0, sigma^2)`` truncated at ``3 sigma``:

        v_j = [cos(2 pi c_j x_j), sin(2 pi c_j x_j)]        (2k values)
        e_j = ReLU(W_j v_j + b_j)                           (d values)

    Gorishniy, Rubachev & Babenko (2022), "On Embeddings for Numerical
    Features in Tabular Deep Learning", NeurIPS, section 3.3 (eq. 7-8). With
    ``lite=True`` all features share ``W`` and ``b`` ("PLR(lite)" of TabM,
    Gorishniy, Kotelnikov & Babenko, 2025), which keeps the parameter count
    independent of the number of features.

    Parameters
    ----------
    n_features : int
    n_frequencies : int
        ``k``.
    sigma : float
        Standard deviation of the initial frequencies.
    embedding_dim : int
        ``d``.
    lite : bool
    """

    def __init__(self, n_features, n_frequencies, sigma, embedding_dim, lite):
        super().__init__()
        self.frequencies = nn.Parameter(torch.empty(n_features, n_frequencies))
        nn.init.trunc_normal_(self.frequencies, 0.0, sigma, a=-3 * sigma, b=3 * sigma)
        shape = () if lite else (n_features,)
        self.weight = nn.Parameter(torch.empty(*shape, 2 * n_frequencies, embedding_dim))
        self.bias = nn.Parameter(torch.empty(*shape, embedding_dim))
        _feature_linear_init(self.weight, self.bias, 2 * n_frequencies)
        self.lite = lite
        self.out_features = n_features * embedding_dim

    def forward(self, x):
        angle = (2 * math.pi) * x.unsqueeze(-1) * self.frequencies  # (n, F, k)
        v = torch.cat([torch.cos(angle), torch.sin(angle)], dim=-1)  # (n, F, 2k)
        if self.lite:
            e = v @ self.weight + self.bias
        else:  # one matrix per feature: (F, n, 2k) @ (F, 2k, d)
            e = torch.baddbmm(self.bias.unsqueeze(1), v.transpose(0, 1), self.weight)
            e = e.transpose(0, 1)
        return torch.relu(e).flatten(1)


class PiecewiseLinearEmbeddings(nn.Module):
    """Piecewise-linear encoding over quantile bins, a linear layer per feature
    beside a linear embedding of the value, and a ReLU.

    Feature ``j`` has bins ``[b_{t-1}, b_t)``, ``t = 1..T_j``, with edges at
    quantiles of the training rows. Its encoding has one value per bin
    (Gorishniy, Rubachev & Babenko, 2022, section 3.2, eq. 2):

        PLE_t(x) = 0                            if x < b_{t-1} and t > 1
                 = 1                            if x >= b_t and t < T_j
                 = (x - b_{t-1}) / (b_t - b_{t-1})   otherwise

    so the first bin extends linearly below the training range and the last
    above it. Then

        e_j = ReLU(w_j x_j + W_j PLE(x_j) + b_j)

    with ``W_j`` starting at 0: at first each feature's embedding is a ReLU of
    a random linear function of its value (``w_j`` from ``U(-1, 1)``), and
    the bins add only what training finds in them. The paper's "Q-LR" is
    this without ``w_j x_j``; the linear term starting alone is the variant
    that TabM's code base uses with PLE (Gorishniy, Kotelnikov & Babenko,
    2025). On the accuracy suite, the paper's form lost 0.02-0.06 against no
    embedding on smooth problems (``synth_partial``, cancer), this one about
    0.01, for most of the gain on tables where trees win
    (``benchmarks/README.md``). Features with fewer
    distinct quantiles than ``n_bins`` have fewer bins; the unused ones are
    masked to 0, so every tensor has a shape fixed by ``n_features`` and
    ``n_bins``.

    Parameters
    ----------
    edges : ndarray of shape (n_features, n_bins + 1)
        Each row: the feature's increasing bin edges, padded at the end by
        repeating its last edge (see :func:`quantile_bin_edges`).
    embedding_dim : int
    """

    def __init__(self, edges, embedding_dim):
        super().__init__()
        edges = torch.as_tensor(np.asarray(edges), dtype=torch.float32)
        n_features, n_bins = edges.shape[0], edges.shape[1] - 1
        width = edges[:, 1:] - edges[:, :-1]
        used = width > 0
        # bin t of feature j is its first (last) when no used bin lies before (after) it
        first = used & (torch.cumsum(used.int(), dim=1) == 1)
        last = used & (torch.cumsum(used.flip(1).int(), dim=1).flip(1) == 1)
        inf = torch.tensor(float("inf"))
        self.register_buffer("left", edges[:, :-1].clone())
        self.register_buffer("inverse_width", torch.where(used, 1 / width.clamp_min(1e-30),
                                                          torch.zeros(())))
        self.register_buffer("lower", torch.where(first, -inf, torch.zeros(())))
        self.register_buffer("upper", torch.where(last, inf, torch.ones(())))
        self.linear = nn.Parameter(torch.empty(n_features, embedding_dim))
        self.weight = nn.Parameter(torch.zeros(n_features, n_bins, embedding_dim))
        self.bias = nn.Parameter(torch.empty(n_features, embedding_dim))
        nn.init.uniform_(self.linear, -1.0, 1.0)
        bound = 1 / math.sqrt(n_bins)
        nn.init.uniform_(self.bias, -bound, bound)
        self.out_features = n_features * embedding_dim

    def encode(self, x):
        """``PLE(x)`` of shape ``(n, n_features, n_bins)`` (0 for unused bins)."""
        t = (x.unsqueeze(-1) - self.left) * self.inverse_width
        return torch.minimum(torch.maximum(t, self.lower), self.upper)

    def forward(self, x):
        p = self.encode(x)  # (n, F, T)
        e = torch.baddbmm(self.bias.unsqueeze(1), p.transpose(0, 1), self.weight)
        e = e.transpose(0, 1) + x.unsqueeze(-1) * self.linear
        return torch.relu(e).flatten(1)


def quantile_bin_edges(X, n_bins, max_rows=100_000):
    """Bin edges at the quantiles ``0, 1/n_bins, ..., 1`` of each column of ``X``.

    Repeated quantiles (a feature with few distinct values) are merged, so a
    feature has at most ``n_bins`` bins; its row is padded at the end by
    repeating its last edge (zero-width bins, which
    :class:`PiecewiseLinearEmbeddings` masks). ``X`` (dense or CSR) is
    subsampled with a stride beyond ``max_rows`` rows. Quantiles are computed in
    float64; non-finite values are ignored.

    Returns
    -------
    edges : ndarray of shape (n_features, n_bins + 1), float32
    """
    rows = X[:: max(1, X.shape[0] // max_rows)]
    if sp.issparse(rows):
        rows = rows.toarray()
    rows = np.asarray(rows, dtype=np.float64)
    levels = np.linspace(0.0, 1.0, n_bins + 1)
    edges = np.zeros((rows.shape[1], n_bins + 1))
    for j in range(rows.shape[1]):
        column = rows[:, j]
        column = column[np.isfinite(column)]
        if column.size == 0:
            continue
        unique = np.unique(np.quantile(column, levels).astype(np.float32))
        edges[j, : len(unique)] = unique
        edges[j, len(unique):] = unique[-1]
    return edges.astype(np.float32)


class LinearPath(nn.Module):
    """One linear term per task on the inputs, added to the network's logits.

    ``logits_t(x) = deep_t(x) + V_t x + c_t``: the "wide" part of Wide & Deep
    (Cheng et al., 2016, "Wide & Deep Learning for Recommender Systems"),
    here on the scaled numeric inputs; with the deep part at 0 each task is a
    multinomial logistic regression. Starts at 0; the estimator then sets it
    to each task's logistic regression before the network trains
    (:func:`~sklearn_mtl._linear_path.fit_linear_path`), so that the deep
    part learns what the regression leaves.

    Parameters
    ----------
    n_features : int
    n_outputs : int
        ``sum(n_classes)``.
    """

    def __init__(self, n_features, n_outputs):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(n_outputs, n_features))
        self.bias = nn.Parameter(torch.zeros(n_outputs))

    def forward(self, x):
        return torch.addmm(self.bias, x, self.weight.T)
