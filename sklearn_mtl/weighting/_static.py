"""Static task weights."""

from ._base import BaseWeighting


class StaticWeighting(BaseWeighting):
    """Minimise ``sum_t task_weights[t] * loss_t`` with fixed weights.

    The default strategy; with ``task_weights=None`` every task weighs 1.
    """

    def backward(self, losses, present):
        """Back-propagate ``sum_t task_weights[t] * losses[t]``; return the weights."""
        weights = self.task_weights_ * present
        (weights * losses).sum().backward()
        return weights.detach()
