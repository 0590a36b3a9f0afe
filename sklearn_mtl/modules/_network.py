"""The multi-task network: trunk -> architecture block -> per-task heads."""

import contextlib

from torch import nn

from ._ensemble import EnsembleMLPTrunk, mean_members, repeat_rows
from ._mlp import MLPTrunk


class SharedTrunk(nn.Module):
    """A feature extractor (identity by default) followed by shared hidden layers.

    Parameters
    ----------
    extractor : nn.Module with ``out_features``, or None
        Maps ``(n, n_features)`` to ``(n, extractor.out_features)``; None keeps
        the input as it is.
    n_features : int
    hidden_layer_sizes, activation, dropout, batch_norm
        The shared dense layers, as in :class:`MLPTrunk`.
    ensemble_size : int
        Above 1, the dense layers are this many independent members
        (:class:`~sklearn_mtl.modules._ensemble.EnsembleMLPTrunk`) and the
        trunk maps ``(n, n_features)`` to ``(n * ensemble_size, width)``.
    scaling : nn.Module or None
        A fixed transform applied to the input first (e.g. ``RobustScaling``):
        no parameter, the same function of each row in training and
        prediction. The engine may apply it to the whole training set once
        (:meth:`scale`) and run the rest under :meth:`scaled_inputs`.
    embedding : nn.Module with ``out_features``, or None
        Embeddings of the (scaled) numerical features, before the extractor
        and the dense layers (e.g. ``PeriodicEmbeddings``). Shared by the
        members of an ensemble.
    """

    def __init__(self, extractor, n_features, hidden_layer_sizes, activation="relu",
                 dropout=0.0, batch_norm=False, ensemble_size=1, scaling=None, embedding=None):
        super().__init__()
        self.scaling = scaling if scaling is not None else nn.Identity()
        self.has_scaling = scaling is not None
        self.embedding = embedding if embedding is not None else nn.Identity()
        self.extractor = extractor if extractor is not None else nn.Identity()
        if embedding is not None:
            n_features = embedding.out_features
        width = n_features if extractor is None else extractor.out_features
        self._inputs_scaled = False
        self.ensemble_size = int(ensemble_size)
        if self.ensemble_size > 1:
            self.dense = EnsembleMLPTrunk(width, hidden_layer_sizes, self.ensemble_size,
                                          activation, dropout, batch_norm)
        else:
            self.dense = MLPTrunk(width, hidden_layer_sizes, activation, dropout, batch_norm)
        self.out_features = self.dense.out_features

    def scale(self, x):
        """The fixed input transform alone (the identity without ``scaling``)."""
        return self.scaling(x)

    @contextlib.contextmanager
    def scaled_inputs(self):
        """Within the block, ``forward`` takes inputs that :meth:`scale` has
        already transformed."""
        before, self._inputs_scaled = self._inputs_scaled, True
        try:
            yield
        finally:
            self._inputs_scaled = before

    def scaled(self, x):
        """``x`` as the layers after the scaling read it."""
        return x if self._inputs_scaled else self.scaling(x)

    def forward(self, x):
        return self.dense(self.extractor(self.embedding(self.scaled(x))))


class MultiTaskModule(nn.Module):
    """``heads(block(trunk(x)))``.

    * ``trunk`` maps a float batch ``(n, n_features)`` to the shared
      representation ``(n, trunk.out_features)``;
    * ``block`` maps it to one representation per task (hard sharing passes it
      through; mixtures of experts mix it with per-task gates);
    * ``heads`` map the task representations to concatenated logits
      ``(n, sum(n_classes))``.

    The forward pass returns one tensor (skorch keeps only the first element of
    a tuple output); ``split_sizes`` tells how to cut it per task. With an
    ensemble trunk of ``k = ensemble_size`` members it has ``n * k`` rows, the
    members' rows of each input row consecutive
    (:func:`~sklearn_mtl.modules._ensemble.combine_members` averages them).

    Parameters
    ----------
    trunk : nn.Module with ``out_features``
    block : nn.Module with ``out_features`` and ``shared_parameters()``
    heads : nn.Module with ``n_classes``
    linear_path : nn.Module or None
        Maps the trunk's scaled inputs to logits ``(n, sum(n_classes))`` added
        to the heads' (``LinearPath``); with ensemble members, every member's
        logits get the same term.
    """

    def __init__(self, trunk, block, heads, linear_path=None):
        super().__init__()
        self.trunk = trunk
        self.block = block
        self.heads = heads
        self.linear_path = linear_path

    @property
    def split_sizes(self):
        return self.heads.n_classes

    @property
    def ensemble_size(self):
        return getattr(self.trunk, "ensemble_size", 1)

    def forward(self, x):
        logits = self.heads(self.block(self.trunk(x)))
        if self.linear_path is None:
            return logits
        wide = self.linear_path(self.trunk.scaled(x))
        return logits + repeat_rows(wide, self.ensemble_size)

    def embed(self, x):
        """The shared representation of ``x`` (the trunk's output; the mean over
        the members of an ensemble trunk)."""
        return mean_members(self.trunk(x), self.ensemble_size)

    def shared_parameters(self):
        """Parameters that every task's loss depends on: the trunk's, and
        those the block names (its ``shared_parameters()``: the shared
        experts of a mixture of experts, none for hard sharing)."""
        yield from self.trunk.parameters()
        yield from self.block.shared_parameters()
