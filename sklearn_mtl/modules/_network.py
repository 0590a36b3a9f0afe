"""The multi-task network: trunk -> architecture block -> per-task heads."""

from torch import nn

from ._ensemble import EnsembleMLPTrunk
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
        Applied to the input first (e.g. ``RobustScaling``).
    """

    def __init__(self, extractor, n_features, hidden_layer_sizes, activation="relu",
                 dropout=0.0, batch_norm=False, ensemble_size=1, scaling=None):
        super().__init__()
        self.scaling = scaling if scaling is not None else nn.Identity()
        self.extractor = extractor if extractor is not None else nn.Identity()
        width = n_features if extractor is None else extractor.out_features
        self.ensemble_size = int(ensemble_size)
        if self.ensemble_size > 1:
            self.dense = EnsembleMLPTrunk(width, hidden_layer_sizes, self.ensemble_size,
                                          activation, dropout, batch_norm)
        else:
            self.dense = MLPTrunk(width, hidden_layer_sizes, activation, dropout, batch_norm)
        self.out_features = self.dense.out_features

    def forward(self, x):
        return self.dense(self.extractor(self.scaling(x)))


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
    """

    def __init__(self, trunk, block, heads):
        super().__init__()
        self.trunk = trunk
        self.block = block
        self.heads = heads

    @property
    def split_sizes(self):
        return self.heads.n_classes

    @property
    def ensemble_size(self):
        return getattr(self.trunk, "ensemble_size", 1)

    def forward(self, x):
        return self.heads(self.block(self.trunk(x)))

    def embed(self, x):
        """The shared representation of ``x`` (the trunk's output; the mean over
        the members of an ensemble trunk)."""
        z = self.trunk(x)
        k = self.ensemble_size
        return z if k == 1 else z.view(x.shape[0], k, -1).mean(dim=1)

    def shared_parameters(self):
        """Parameters that every task's loss depends on: the trunk's, and
        those the block names (its ``shared_parameters()``: the shared
        experts of a mixture of experts, none for hard sharing)."""
        yield from self.trunk.parameters()
        yield from self.block.shared_parameters()
