"""Random loss weighting: fresh random task weights for every batch."""

import torch
from sklearn.utils._param_validation import StrOptions

from ._base import BaseWeighting


class RandomLossWeighting(BaseWeighting):
    """Weigh the task losses of every batch with randomly drawn weights.

    Parameters
    ----------
    distribution : {"normal", "uniform", "dirichlet"}, default="normal"
        How the weights are drawn: the softmax of standard normal draws (the
        paper's default), the softmax of uniform draws on [0, 1), or a draw
        from the flat Dirichlet distribution ``Dir(1, ..., 1)``.

    Notes
    -----
    The weights are drawn for the tasks present in the batch only (absent
    tasks get weight 0), then scaled to sum to the number of present tasks,
    so that on average each present task weighs 1 as under equal weighting
    and the learning rate keeps its meaning (the paper's weights sum to 1).
    The user's ``task_weights_`` are fixed weights multiplied in afterwards.
    Draws use torch's global random generator, which the estimator seeds from
    ``random_state`` and restores after ``fit``; every batch draws
    ``n_tasks`` numbers, whichever tasks are present.

    References
    ----------
    .. [1] B. Lin, F. Ye, Y. Zhang and I. W. Tsang, "Reasonable effectiveness
       of random weighting: a litmus test for multi-task learning", TMLR,
       2022.
    """

    _parameter_constraints = {"distribution": [StrOptions({"normal", "uniform", "dirichlet"})]}

    def __init__(self, distribution="normal"):
        self.distribution = distribution


    def _draw(self, present):
        """Random weights summing to 1 over the present tasks, 0 elsewhere."""
        like = present.to(self.task_weights_.dtype)
        if self.distribution == "dirichlet":
            # Dir(1, ..., 1) is a vector of Exp(1) draws divided by its sum
            draws = torch.where(present, torch.empty_like(like).exponential_(), 0.0)
            return draws / draws.sum().clamp_min(1e-12)
        draws = torch.randn_like(like) if self.distribution == "normal" else torch.rand_like(like)
        probabilities = torch.where(present, draws, -torch.inf).softmax(0)
        return torch.where(present, probabilities, 0.0)  # no task present: NaN -> 0

    def backward(self, losses, present, shared_parameters, specific_parameters):
        """Back-propagate ``sum_t w_t L_t`` with freshly drawn ``w``."""
        weights = self._draw(present) * present.sum() * self.task_weights_
        (weights * losses).sum().backward()
        return weights.detach()
