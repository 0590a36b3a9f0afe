"""Robust input scaling of the shared trunk.

:class:`RobustScaling`: per-feature centring and scaling by quantiles fitted
on the training rows, then a smooth clip (Holzmüller et al., 2024).
"""

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

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
# ... and this many columns at a time
_QUANTILE_COLUMNS = 32


def robust_statistics(X):
    """``(center, scale)`` of :class:`RobustScaling` for the rows of ``X``
    (dense or CSR; large ``X`` is subsampled with a stride, nothing is copied
    beyond the sample).

    Computed in float64 and returned in float32: the inter-quartile range of a
    float32 column can exceed float32's range (a column of +-3e38), so
    ``scale`` is capped at float32's largest value (such a column is then
    scaled by up to twice less than its range calls for, and still used)."""
    rows = X[:: max(1, X.shape[0] // _QUANTILE_ROWS)]
    # the sample read once, in X's own dtype (a memory map's rows are on the disk)
    rows = rows.toarray() if sp.issparse(rows) else np.ascontiguousarray(rows)
    # then a few columns at a time: the float64 copy (and np.quantile's own) of the
    # whole sample would take 1.6 GB for 1,000 features
    q1, median, q3, spread = (np.empty(rows.shape[1]) for _ in range(4))
    for j in range(0, rows.shape[1], _QUANTILE_COLUMNS):
        part = np.asarray(rows[:, j:j + _QUANTILE_COLUMNS], dtype=np.float64)
        columns = slice(j, j + part.shape[1])
        q1[columns], median[columns], q3[columns] = np.quantile(
            part, [0.25, 0.5, 0.75], axis=0)
        spread[columns] = (part.max(axis=0) - part.min(axis=0)) / 2
    scale = q3 - q1
    scale = np.where(scale > 0, scale, spread)
    scale = np.where(scale > 0, scale, 1.0)
    scale = np.minimum(scale, np.finfo(np.float32).max)
    return median.astype(np.float32), scale.astype(np.float32)
