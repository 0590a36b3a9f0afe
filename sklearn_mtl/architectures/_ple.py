"""Progressive layered extraction (and CGC, its one-level form)."""

from numbers import Integral, Real

from sklearn.utils._param_validation import Interval, InvalidParameterError

from .._constraints import Sizes, as_sizes
from ..modules import PLEBlock
from ._base import BaseArchitecture


class PLE(BaseArchitecture):
    """Progressive layered extraction (Tang et al., 2020).

    Each extraction level has shared experts and experts of each task; task
    ``k`` mixes its own and the shared experts with its gate, and a shared gate
    mixes all experts for the next level. With ``n_levels=1`` this is the
    customized gate control (CGC) of the same paper. The experts' hidden
    layers use the estimator's ``activation``.

    Parameters
    ----------
    n_levels : int, default=2
        Extraction levels (1 = CGC).
    n_shared_experts : int, default=2
        Shared experts per level.
    n_task_experts : int, default=1
        Experts of each task per level. ``n_shared_experts + n_task_experts``
        must be at least 1.
    expert_hidden_layer_sizes : tuple of int, default=(64,)
        Layers of each expert; the last size is the width of each level's output.
    dropout : float in [0, 1), default=0.0
        Dropout inside the experts (the estimator's ``dropout`` applies to
        the shared hidden layers and the heads).

    References
    ----------
    Tang, H., Liu, J., Zhao, M. & Gong, X. (2020). Progressive layered
    extraction (PLE): a novel multi-task learning model for personalized
    recommendations. RecSys.
    """

    _parameter_constraints: dict = {
        "n_levels": [Interval(Integral, 1, None, closed="left")],
        "n_shared_experts": [Interval(Integral, 0, None, closed="left")],
        "n_task_experts": [Interval(Integral, 0, None, closed="left")],
        "expert_hidden_layer_sizes": [Sizes()],
        "dropout": [Interval(Real, 0, 1, closed="left")],
    }

    def __init__(self, n_levels=2, n_shared_experts=2, n_task_experts=1,
                 expert_hidden_layer_sizes=(64,), dropout=0.0):
        self.n_levels = n_levels
        self.n_shared_experts = n_shared_experts
        self.n_task_experts = n_task_experts
        self.expert_hidden_layer_sizes = expert_hidden_layer_sizes
        self.dropout = dropout

    def _build(self, in_features, n_tasks, *, activation):
        if self.n_shared_experts + self.n_task_experts == 0:
            raise InvalidParameterError(
                "PLE: n_shared_experts + n_task_experts must be at least 1 (each task's "
                "gate needs an expert to mix); got 0 + 0."
            )
        return PLEBlock(
            in_features,
            n_tasks,
            int(self.n_levels),
            int(self.n_shared_experts),
            int(self.n_task_experts),
            as_sizes(self.expert_hidden_layer_sizes),
            activation=activation,
            dropout=float(self.dropout),
        )


class CGC(PLE):
    """Customized gate control (Tang et al., 2020): one extraction level of
    :class:`PLE` (``architecture="cgc"``).

    Parameters
    ----------
    n_shared_experts : int, default=2
        Shared experts.
    n_task_experts : int, default=1
        Experts of each task. ``n_shared_experts + n_task_experts`` must be at
        least 1.
    expert_hidden_layer_sizes : tuple of int, default=(64,)
        Layers of each expert; the last size is the width of the output.
    dropout : float in [0, 1), default=0.0
        Dropout inside the experts.

    References
    ----------
    Tang, H., Liu, J., Zhao, M. & Gong, X. (2020). Progressive layered
    extraction (PLE): a novel multi-task learning model for personalized
    recommendations. RecSys.
    """

    _parameter_constraints: dict = {
        k: v for k, v in PLE._parameter_constraints.items() if k != "n_levels"
    }
    n_levels = 1  # not a parameter: one level is what makes it CGC

    def __init__(self, n_shared_experts=2, n_task_experts=1, expert_hidden_layer_sizes=(64,),
                 dropout=0.0):
        self.n_shared_experts = n_shared_experts
        self.n_task_experts = n_task_experts
        self.expert_hidden_layer_sizes = expert_hidden_layer_sizes
        self.dropout = dropout
