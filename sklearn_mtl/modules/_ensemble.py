"""Parameter-efficient ensembles for the shared trunk, and their row layout.

* :class:`PackedLinear` and :class:`EnsembleMLPTrunk`: ``k`` independent
  members computed as one network, with batched matrix multiplies (a deep
  ensemble, Lakshminarayanan et al., 2017, trained in parallel like the
  members of TabM, Gorishniy et al., 2025, but without shared weights).
* :func:`repeat_rows`, :func:`mean_members`, :func:`combine_members`: the
  members' row layout (``(n * k, ...)``, a row's members consecutive), known
  here only.
"""

import math

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


def mean_members(z, k):
    """Member rows ``(n * k, d)`` -> their mean per input row ``(n, d)``."""
    return z if k == 1 else z.view(z.shape[0] // k, k, -1).mean(dim=1)


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
