"""Multi-gate mixture of experts."""

from numbers import Integral, Real

from sklearn.utils._param_validation import Interval

from .._constraints import Sizes, as_sizes
from ..modules import MMoEBlock
from ._base import BaseArchitecture


class MMoE(BaseArchitecture):
    """Multi-gate mixture of experts (Ma et al., 2018).

    ``n_experts`` MLP experts read the trunk's representation ``z``; task ``k``
    reads ``sum_i g_k(z)_i e_i(z)`` where its gate ``g_k(z) = softmax(W_k z)``
    learns which experts serve it. Weakly related tasks can use different
    experts instead of fighting over one representation. The experts' hidden
    layers use the estimator's ``activation``.

    Parameters
    ----------
    n_experts : int, default=4
        Number of shared experts.
    expert_hidden_layer_sizes : tuple of int, default=(64,)
        Layers of each expert; the last size is the width each task reads.
    dropout : float in [0, 1), default=0.0
        Dropout inside the experts (the estimator's ``dropout`` applies to
        the shared hidden layers and the heads).

    References
    ----------
    Ma, J., Zhao, Z., Yi, X., Chen, J., Hong, L. & Chi, E. H. (2018). Modeling
    task relationships in multi-task learning with multi-gate mixture-of-experts.
    KDD.
    """

    _parameter_constraints: dict = {
        "n_experts": [Interval(Integral, 1, None, closed="left")],
        "expert_hidden_layer_sizes": [Sizes()],
        "dropout": [Interval(Real, 0, 1, closed="left")],
    }

    def __init__(self, n_experts=4, expert_hidden_layer_sizes=(64,), dropout=0.0):
        self.n_experts = n_experts
        self.expert_hidden_layer_sizes = expert_hidden_layer_sizes
        self.dropout = dropout

    def _build(self, in_features, n_tasks, *, activation):
        return MMoEBlock(
            in_features,
            n_tasks,
            int(self.n_experts),
            as_sizes(self.expert_hidden_layer_sizes),
            activation=activation,
            dropout=float(self.dropout),
        )
