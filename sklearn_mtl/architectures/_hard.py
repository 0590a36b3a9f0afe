"""Hard parameter sharing."""

from ..modules import HardSharingBlock, LinearHeads
from ._base import BaseArchitecture


class HardSharing(BaseArchitecture):
    """Every task reads the same shared representation (Caruana, 1997).

    The default architecture: the trunk is shared by all tasks, and each task
    only owns its head. Without ``head_hidden_layer_sizes``, the linear heads
    are computed as one fused matrix multiply
    (:class:`~sklearn_mtl.modules.LinearHeads`).

    References
    ----------
    Caruana, R. (1997). Multitask learning. Machine Learning, 28(1), 41-75.
    """

    _parameter_constraints: dict = {}

    def _build(self, in_features, n_tasks, *, activation):
        return HardSharingBlock(in_features, n_tasks)

    def build_heads(self, in_features, n_classes, *, hidden_layer_sizes=(), activation="relu",
                    dropout=0.0):
        if not len(hidden_layer_sizes):
            # all tasks read one representation: one matrix multiply for all heads
            return LinearHeads(in_features, n_classes)
        return super().build_heads(in_features, n_classes, hidden_layer_sizes=hidden_layer_sizes,
                                   activation=activation, dropout=dropout)
