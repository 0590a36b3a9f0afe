"""Progressive layered extraction (and CGC, its one-level form)."""

from ..modules import PLEBlock
from ._base import BaseArchitecture


class PLE(BaseArchitecture):
    """Progressive layered extraction (Tang et al., 2020).

    Each extraction level has shared experts and experts of each task; task
    ``k`` mixes its own and the shared experts with its gate, and a shared gate
    mixes all experts for the next level. With ``n_levels=1`` this is the
    customized gate control (CGC) of the same paper.

    Parameters
    ----------
    n_levels : int, default=2
        Extraction levels (1 = CGC).
    n_shared_experts : int, default=2
        Shared experts per level.
    n_task_experts : int, default=1
        Experts of each task per level.
    expert_hidden_layer_sizes : tuple of int, default=(64,)
        Layers of each expert; the last size is the width of each level's output.
    dropout : float, default=0.0
        Dropout inside the experts.

    References
    ----------
    Tang, H., Liu, J., Zhao, M. & Gong, X. (2020). Progressive layered
    extraction (PLE): a novel multi-task learning model for personalized
    recommendations. RecSys.
    """

    def __init__(self, n_levels=2, n_shared_experts=2, n_task_experts=1,
                 expert_hidden_layer_sizes=(64,), dropout=0.0):
        self.n_levels = n_levels
        self.n_shared_experts = n_shared_experts
        self.n_task_experts = n_task_experts
        self.expert_hidden_layer_sizes = expert_hidden_layer_sizes
        self.dropout = dropout

    def build(self, in_features, n_tasks):
        n_shared = self._check_count("n_shared_experts", self.n_shared_experts, 0)
        n_task = self._check_count("n_task_experts", self.n_task_experts, 0)
        if n_shared + n_task == 0:
            raise ValueError("PLE: n_shared_experts + n_task_experts must be at least 1.")
        return PLEBlock(
            in_features,
            n_tasks,
            self._check_count("n_levels", self.n_levels, 1),
            n_shared,
            n_task,
            self._check_sizes("expert_hidden_layer_sizes", self.expert_hidden_layer_sizes),
            dropout=self.dropout,
        )
