"""Static task weights."""

from ._base import BaseWeighting


class StaticWeighting(BaseWeighting):
    """Minimise ``sum_t task_weights[t] * loss_t`` with fixed weights.

    The default strategy; with ``task_weights=None`` every task weighs 1, which
    is equal weighting. ``task_weights`` are the fixed weights.
    """

    def backward(self, losses, present, shared_parameters, specific_parameters):
        """Back-propagate ``sum_t task_weights[t] * losses[t]``; return the weights."""
        weights = self.task_weights_ * present
        (weights * losses).sum().backward()
        return weights.detach()
