"""Uncertainty weighting: one learnable homoscedastic log-variance per task."""

from numbers import Real

import torch
from sklearn.utils._param_validation import Interval

from ._base import BaseWeighting


class UncertaintyWeighting(BaseWeighting):
    """Weigh each task by a learned precision ``exp(-s_t)``.

    Minimises ``sum_t exp(-s_t) * L_t + s_t / 2`` jointly over the network
    and the log-variances ``s_t = log sigma_t^2``, which the network's
    optimizer trains (without weight decay).

    Parameters
    ----------
    init_log_variance : float, default=0.0
        Initial ``s_t`` of every task; 0 starts from equal weights of 1.

    Attributes
    ----------
    log_variances_ : Parameter of shape (n_tasks,)
        The learned ``s_t``.

    Notes
    -----
    This is the paper's classification form (its Eq. 10: a softmax likelihood
    with temperature ``sigma^2`` gives ``L / sigma^2 + log sigma``), chosen
    because every task here is a softmax cross-entropy. For a fixed loss the
    optimal ``s_t`` makes the weight ``exp(-s_t) = 1 / (2 L_t)``. The weights
    applied to the losses, and returned, are ``task_weights_[t] * exp(-s_t)``.

    The user's ``task_weights_`` are fixed weights multiplied into each
    task's whole term ``exp(-s_t) L_t + s_t / 2``; multiplying only the loss
    would be undone by ``s_t``. An absent task contributes neither term, so its
    ``s_t`` gets a zero gradient (AdamW's momentum may still move it a little),
    and its weight is 0.

    References
    ----------
    .. [1] A. Kendall, Y. Gal and R. Cipolla, "Multi-task learning using
       uncertainty to weigh losses for scene geometry and semantics", CVPR,
       2018.
    """

    _parameter_constraints = {"init_log_variance": [Interval(Real, None, None, closed="neither")]}

    def __init__(self, init_log_variance=0.0):
        self.init_log_variance = init_log_variance

    def _init_state(self, n_tasks, device):
        self.log_variances_ = torch.nn.Parameter(
            torch.full((n_tasks,), float(self.init_log_variance), device=device)
        )

    def parameters(self):
        """The log-variances, trained by the network's optimizer."""
        return [self.log_variances_]

    def backward(self, losses, present, shared_parameters, specific_parameters):
        """Back-propagate ``sum_t w_t (exp(-s_t) L_t + s_t / 2)`` over present tasks."""
        s = self.log_variances_
        terms = self.task_weights_ * (torch.exp(-s) * losses + s / 2)
        torch.where(present, terms, 0.0).sum().backward()
        return torch.where(present, self.task_weights_ * torch.exp(-s), 0.0).detach()
