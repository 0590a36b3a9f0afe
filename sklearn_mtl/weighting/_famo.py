"""FAMO: task weights that make every task's log-loss fall at the same rate."""

from numbers import Real

import torch
from sklearn.utils._param_validation import Interval

from ._base import BaseWeighting

_EPS = 1e-8  # inside log(L + eps): a loss may round to 0
_BETAS = (0.9, 0.999)  # Adam's, on the logits


def _masked_softmax(logits, mask):
    """Softmax over the entries where ``mask`` is True, 0 elsewhere (all 0 if none)."""
    probabilities = torch.where(mask, logits, -torch.inf).softmax(0)
    return torch.where(mask, probabilities, 0.0)


class FAMO(BaseWeighting):
    """Fast adaptive multitask optimization: weights learned from loss decreases.

    The model steps along the gradient of ``c sum_t z_t log(L_t + eps)`` with
    ``z = softmax(xi)`` and ``c = (sum_t z_t / (L_t + eps))^-1`` held fixed,
    that is along ``sum_t w_t grad L_t`` with ``w_t = c z_t / (L_t + eps)``
    (the weights sum to 1). The logits ``xi`` then descend
    ``z^T delta + gamma ||xi||^2 / 2``, where ``delta_t = log(L_t + eps) -
    log(L'_t + eps)`` is how much the step lowered task ``t``'s log-loss: tasks
    that improved least gain weight.

    Parameters
    ----------
    beta : float, default=0.025
        Step size of the logits ``xi`` (``beta`` in the paper's algorithms).
    gamma : float, default=1e-3
        Decay of the logits towards equal weights (the paper's ``gamma``).

    Attributes
    ----------
    logits_ : Tensor of shape (n_tasks,)
        The logits ``xi``; the task weights before normalisation by the
        losses are ``softmax(xi)``.

    Notes
    -----
    ``L'_t``, "the loss after the step", is taken as task ``t``'s loss on the
    next batch, which saves the paper's second forward pass on the same batch
    at the price of mixing batch-to-batch noise into ``delta``. As in the
    paper's practical version (its Algorithm 2 and the authors' code), the
    logits take Adam steps (betas 0.9, 0.999) of size ``beta`` on the
    gradient plus ``gamma * xi``; they are updated here, not by the
    network's optimizer, so :meth:`parameters` is empty.

    The user's ``task_weights_`` are fixed weights multiplied into ``w_t``.
    An absent task gets weight 0: ``z`` and ``c`` are taken over the present
    tasks, and ``xi`` is updated from the tasks present in both batches (the
    others' logits only decay). The losses' lower bound is taken to be 0.

    References
    ----------
    .. [1] B. Liu, Y. Feng, P. Stone and Q. Liu, "FAMO: Fast adaptive
       multitask optimization", NeurIPS, 2023.
    """

    _parameter_constraints = {
        "beta": [Interval(Real, 0, None, closed="neither")],
        "gamma": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(self, beta=0.025, gamma=1e-3):
        self.beta = beta
        self.gamma = gamma

    def _init_state(self, n_tasks, device):
        self.logits_ = torch.zeros(n_tasks, device=device)
        self.adam_moments_ = (torch.zeros_like(self.logits_), torch.zeros_like(self.logits_))
        self.n_updates_ = 0
        self.previous_ = None  # (log-losses, present) of the previous batch

    def backward(self, losses, present, shared_parameters, specific_parameters):
        """Update ``xi`` from the last step's loss decrease, then back-propagate."""
        log_losses = torch.log(losses.detach() + _EPS)
        if self.previous_ is not None:
            self._update_logits(log_losses, present)
        self.previous_ = (log_losses, present)
        ratios = _masked_softmax(self.logits_, present) / (losses.detach() + _EPS)
        weights = ratios / ratios.sum().clamp_min(1e-12) * self.task_weights_
        (weights * losses).sum().backward()
        return weights

    def _update_logits(self, log_losses, present):
        before, present_before = self.previous_
        both = present & present_before
        delta = torch.where(both, before - log_losses, 0.0)
        z = _masked_softmax(self.logits_, both)
        # gradient of z^T delta (the softmax's vector-Jacobian product) plus the decay
        grad = z * (delta - (z * delta).sum()) + self.gamma * self.logits_
        (b1, b2), (m, v) = _BETAS, self.adam_moments_
        self.n_updates_ += 1
        m, v = b1 * m + (1 - b1) * grad, b2 * v + (1 - b2) * grad**2
        self.adam_moments_ = (m, v)
        m_hat, v_hat = m / (1 - b1**self.n_updates_), v / (1 - b2**self.n_updates_)
        self.logits_ = self.logits_ - self.beta * m_hat / (v_hat.sqrt() + 1e-8)
