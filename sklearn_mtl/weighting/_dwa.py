"""Dynamic weight average: weights from the rate at which each loss falls."""

from numbers import Real

import numpy as np
import torch
from sklearn.utils._param_validation import Interval

from ._base import BaseWeighting


class DynamicWeightAverage(BaseWeighting):
    """Give more weight to the tasks whose loss fell least in recent epochs.

    In epoch ``k`` task ``t`` weighs
    ``w_t(k) = T exp(r_t(k-1) / tau) / sum_i exp(r_i(k-1) / tau)`` with
    ``r_t(k-1) = L_t(k-1) / L_t(k-2)``, the ratio of its mean training losses
    over the two previous epochs; every weight is 1 in the first two epochs.

    Parameters
    ----------
    tau : float, default=2.0
        Temperature: larger values give weights closer to 1.

    Attributes
    ----------
    loss_weights_ : Tensor of shape (n_tasks,)
        The weights of the current epoch (summing to ``n_tasks``).

    Notes
    -----
    A task unseen in either of the two previous epochs (its epoch loss is NaN)
    or whose earlier loss is 0 has no ratio; it gets ``r_t = 1``, "no change".
    The user's ``task_weights_`` are fixed weights multiplied into ``w_t(k)``.
    A task absent from a batch gets weight 0 in that batch; the others keep
    their epoch weights (they are not renormalised).

    References
    ----------
    .. [1] S. Liu, E. Johns and A. J. Davison, "End-to-end multi-task learning
       with attention", CVPR, 2019.
    """

    _parameter_constraints = {"tau": [Interval(Real, 0, None, closed="neither")]}

    def __init__(self, tau=2.0):
        self.tau = tau

    def _init_state(self, n_tasks, device):
        self.loss_weights_ = torch.ones(n_tasks, device=device)
        self.epoch_losses_ = []  # the last two epochs' mean losses, oldest first

    def backward(self, losses, present, shared_parameters, specific_parameters):
        """Back-propagate ``sum_t task_weights_[t] w_t(k) L_t`` over present tasks."""
        weights = torch.where(present, self.task_weights_ * self.loss_weights_, 0.0)
        (weights * losses).sum().backward()
        return weights.detach()

    def end_epoch(self, epoch_losses):
        """Compute next epoch's weights from the last two epochs' mean losses."""
        self.epoch_losses_ = (self.epoch_losses_ + [np.asarray(epoch_losses, float)])[-2:]
        if len(self.epoch_losses_) < 2:
            return
        before, last = self.epoch_losses_
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = last / before
        ratio = np.where(np.isfinite(ratio) & (before > 0), ratio, 1.0)
        scores = np.exp((ratio - ratio.max()) / self.tau)  # shifted: no overflow
        weights = len(ratio) * scores / scores.sum()
        self.loss_weights_ = self.task_weights_.new_tensor(weights)
