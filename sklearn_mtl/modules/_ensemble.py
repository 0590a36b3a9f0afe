"""Parameter-efficient ensembles and input scaling for the shared trunk.

* :class:`PackedLinear` and :class:`EnsembleMLPTrunk`: ``k`` independent
  members computed as one network, with batched matrix multiplies (a deep
  ensemble, Lakshminarayanan et al., 2017, trained in parallel like the
  members of TabM, Gorishniy et al., 2025, but without shared weights).
* :class:`RobustScaling`: per-feature centring and scaling by quantiles fitted
  on the training rows, then a smooth clip (Holzmüller et al., 2024).
"""

import math

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from ._mlp import ACTIVATIONS


class PackedLinear(nn.Module):
    """``k`` independent linear layers applied in one batched multiply: member
    ``m`` computes ``y_m = x_m @ W_m.T + b_m``, each ``W_m`` initialised as
    ``nn.Linear`` does (a deep ensemble, Lakshminarayanan et al., 2017,
    computed as one "packed" layer)."""

    def __init__(self, in_features, out_features, k):
        super().__init__()
        self.k = k
        self.weight = nn.Parameter(torch.empty(k, in_features, out_features))
        self.bias = nn.Parameter(torch.empty(k, out_features))
        bound = 1 / math.sqrt(in_features)
        # nn.Linear's kaiming_uniform(a=sqrt(5)) is uniform(-bound, bound)
        nn.init.uniform_(self.weight, -bound, bound)
        nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x):
        """``x`` of shape ``(n, k, in)`` -> ``(n, k, out)``."""
        out = torch.baddbmm(self.bias.unsqueeze(1), x.transpose(0, 1), self.weight)
        return out.transpose(0, 1)


class EnsembleMLPTrunk(nn.Module):
    """The hidden layers of :class:`~sklearn_mtl.modules._mlp.MLPTrunk` as
    ``k`` independent members.

    Maps ``(n, n_features)`` to ``(n * k, width)``: the members' rows of one
    input row are consecutive, so that the architecture block and the heads
    that follow treat each member's representation as a row of their own.

    Parameters
    ----------
    n_features : int
    hidden_layer_sizes : sequence of int
        At least one layer.
    k : int
    activation, dropout, batch_norm
        As in ``MLPTrunk`` (batch norm normalises every member's rows together).
    """

    def __init__(self, n_features, hidden_layer_sizes, k, activation="relu", dropout=0.0,
                 batch_norm=False):
        super().__init__()
        if not hidden_layer_sizes:
            raise ValueError("an ensemble trunk needs at least one hidden layer")
        self.k = k
        layers, width = [], n_features
        for size in hidden_layer_sizes:
            block = [PackedLinear(width, size, k)]
            if batch_norm:
                block.append(_MemberBatchNorm(size))
            block.append(ACTIVATIONS[activation]())
            if dropout > 0:
                block.append(nn.Dropout(dropout))
            layers.extend(block)
            width = size
        self.layers = nn.Sequential(*layers)
        self.out_features = width

    def forward(self, x):
        z = x.unsqueeze(1).expand(-1, self.k, -1)
        z = self.layers(z)
        return z.reshape(-1, z.shape[-1])


class _MemberBatchNorm(nn.BatchNorm1d):
    """Batch norm over ``(n, k, features)`` rows (all members' rows together)."""

    def forward(self, x):
        n, k, d = x.shape
        return super().forward(x.reshape(n * k, d)).view(n, k, d)


def repeat_rows(t, k):
    """Each row of ``t`` repeated for the ``k`` members, in the members' row
    layout (``(n, ...)`` -> ``(n * k, ...)``, a row's members consecutive)."""
    return t if k == 1 else t.repeat_interleave(k, dim=0)


def combine_members(logits, k, split_sizes):
    """Member logits ``(n * k, C)`` -> the ensemble's log-probabilities ``(n, C)``.

    Each task's prediction is the mean of the members' probabilities (as in
    TabM); its log is returned, so that softmax, argmax and cross-entropy of the
    result are those of the mean probabilities.
    """
    n = logits.shape[0] // k
    member = logits.float().view(n, k, -1)
    chunks = torch.split(member, list(split_sizes), dim=2)
    return torch.cat(
        [torch.logsumexp(torch.log_softmax(c, dim=2), dim=1) - math.log(k) for c in chunks],
        dim=1,
    )


# RealMLP's smooth clip keeps |x| below this (x / sqrt(1 + (x / c)^2) -> c).
_CLIP = 3.0
# |z| beyond this is clipped to +-_CLIP (to float32 precision) already; clamping
# there first keeps (z / _CLIP) ** 2 finite, and an overflowed z (+-inf, from
# extreme but finite inputs) at +-_CLIP instead of NaN
_Z_LIMIT = 1e18


class RobustScaling(nn.Module):
    """``f((x - median) / scale)`` with ``f(z) = z / sqrt(1 + (z / 3)^2)``.

    The robust scaling and smooth clipping of RealMLP-TD (Holzmüller et al.,
    2024, "Better by default: strong pre-tuned MLPs and boosted trees on
    tabular data", section 3): ``scale`` is the inter-quartile range
    ``q_3/4 - q_1/4``, or half the range ``(max - min) / 2`` when the quartiles
    coincide, or 1 for a constant feature (which then maps to 0). The clip
    keeps outliers within +-3 while leaving typical values almost unchanged.
    Any finite input is used: ``center`` and ``scale`` are finite in float32
    (see :func:`robust_statistics`), and a ``z`` too large for float32 is
    clipped to +-3 like any other outlier.

    Parameters
    ----------
    center, scale : Tensor of shape (n_features,)
        Fitted on the training rows (see :func:`robust_statistics`).
    """

    def __init__(self, center, scale):
        super().__init__()
        self.register_buffer("center", torch.as_tensor(center, dtype=torch.float32))
        self.register_buffer("scale", torch.as_tensor(scale, dtype=torch.float32))

    def forward(self, x):
        z = ((x - self.center) / self.scale).clamp(-_Z_LIMIT, _Z_LIMIT)
        return z * torch.rsqrt(1 + (z / _CLIP) ** 2)


# quantiles are estimated on at most this many rows (a strided sample)
_QUANTILE_ROWS = 100_000


def robust_statistics(X):
    """``(center, scale)`` of :class:`RobustScaling` for the rows of ``X``
    (dense or CSR; large ``X`` is subsampled with a stride, nothing is copied
    beyond the sample).

    Computed in float64 and returned in float32: the inter-quartile range of a
    float32 column can exceed float32's range (a column of +-3e38), so
    ``scale`` is capped at float32's largest value (such a column is then
    scaled by up to twice less than its range calls for, and still used)."""
    rows = X[:: max(1, X.shape[0] // _QUANTILE_ROWS)]
    if sp.issparse(rows):
        rows = rows.toarray()
    rows = np.asarray(rows, dtype=np.float64)
    q1, median, q3 = np.quantile(rows, [0.25, 0.5, 0.75], axis=0)
    scale = q3 - q1
    spread = (rows.max(axis=0) - rows.min(axis=0)) / 2
    scale = np.where(scale > 0, scale, spread)
    scale = np.where(scale > 0, scale, 1.0)
    scale = np.minimum(scale, np.finfo(np.float32).max)
    return median.astype(np.float32), scale.astype(np.float32)
