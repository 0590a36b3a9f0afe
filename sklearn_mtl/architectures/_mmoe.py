"""Multi-gate mixture of experts."""

from ..modules import MMoEBlock
from ._base import BaseArchitecture


class MMoE(BaseArchitecture):
    """Multi-gate mixture of experts (Ma et al., 2018).

    ``n_experts`` MLP experts read the trunk's representation ``z``; task ``k``
    reads ``sum_i g_k(z)_i e_i(z)`` where its gate ``g_k(z) = softmax(W_k z)``
    learns which experts serve it. Weakly related tasks can use different
    experts instead of fighting over one representation.

    Parameters
    ----------
    n_experts : int, default=4
        Number of shared experts.
    expert_hidden_layer_sizes : tuple of int, default=(64,)
        Layers of each expert; the last size is the width each task reads.
    dropout : float, default=0.0
        Dropout inside the experts.

    References
    ----------
    Ma, J., Zhao, Z., Yi, X., Chen, J., Hong, L. & Chi, E. H. (2018). Modeling
    task relationships in multi-task learning with multi-gate mixture-of-experts.
    KDD.
    """

    def __init__(self, n_experts=4, expert_hidden_layer_sizes=(64,), dropout=0.0):
        self.n_experts = n_experts
        self.expert_hidden_layer_sizes = expert_hidden_layer_sizes
        self.dropout = dropout

    def build(self, in_features, n_tasks):
        return MMoEBlock(
            in_features,
            n_tasks,
            self._check_count("n_experts", self.n_experts, 1),
            self._check_sizes("expert_hidden_layer_sizes", self.expert_hidden_layer_sizes),
            dropout=self.dropout,
        )
