"""GradNorm: learn loss weights that balance the tasks' gradient norms."""

from numbers import Real

import torch
from sklearn.utils._param_validation import Interval
from torch import nn

from ._base import BaseWeighting


def gradnorm_loss(weights, grad_norms, rates, alpha):
    """``sum_t |G_t - G_bar r_t^alpha|`` with ``G_t = weights[t] * grad_norms[t]``
    and ``r_t = rates[t] / mean(rates)``; the target ``G_bar r_t^alpha`` is
    held constant, so only ``weights`` receive a gradient."""
    G = weights * grad_norms
    relative = rates / rates.mean().clamp_min(1e-12)
    return (G - (G.mean() * relative**alpha).detach()).abs().sum()


class GradNorm(BaseWeighting):
    """GradNorm: learnable task weights ``w`` trained so that the norm of each
    weighted task's gradient on the last shared layer follows the task's
    relative training rate.

    Parameters
    ----------
    alpha : float, default=1.5
        Strength of the restoring force towards balanced training rates (0
        asks for equal gradient norms).

    Attributes
    ----------
    loss_weights_ : Parameter of shape (n_tasks,)
        The learned weights, initialised to 1.
    initial_losses_ : Tensor of shape (n_tasks,)
        ``L_t(0)``: each task's loss in the first batch where it is present.

    Notes
    -----
    With ``G_t = ||d (w_t L_t) / d W||`` for the last shared layer's weight
    ``W`` (the last tensor of ``shared_parameters`` with at least 2
    dimensions), ``G_bar`` their mean, ``r_t = (L_t / L_t(0)) / mean_s(L_s /
    L_s(0))``, the weights get the gradient of ``sum_t |G_t - G_bar r_t^alpha|``
    with the target ``G_bar r_t^alpha`` held constant, and the network gets
    the gradient of ``sum_t w_t L_t`` (``w`` held constant). ``w`` is trained
    by the network's optimizer (without weight decay); at the start of every
    backward, that is after each optimizer step, it is kept positive and
    rescaled to sum to ``n_tasks``. Costs one backward pass to ``W`` per
    present task, plus the usual one. Without a shared weight matrix the
    weights stay at 1.

    The user's ``task_weights_`` are fixed weights multiplied into the learned
    ones (``task_weights_ * w`` is applied and returned) and do not enter the
    balancing. Absent tasks are left out of ``G_bar`` and ``r``, their weight
    gets no gradient, and they get weight 0.

    References
    ----------
    .. [1] Z. Chen, V. Badrinarayanan, C.-Y. Lee and A. Rabinovich, "GradNorm:
       gradient normalization for adaptive loss balancing in deep multitask
       networks", ICML, 2018.
    """

    _parameter_constraints = {"alpha": [Interval(Real, 0, None, closed="left")]}

    per_task_gradients = True  # the norms of each task's gradient

    def __init__(self, alpha=1.5):
        self.alpha = alpha

    def _init_state(self, n_tasks, device):
        self.loss_weights_ = nn.Parameter(torch.ones(n_tasks, device=device))
        self.initial_losses_ = torch.zeros(n_tasks, device=device)

    def parameters(self):
        return [self.loss_weights_]

    def backward(self, losses, present, shared_parameters, specific_parameters):
        w = self.loss_weights_
        with torch.no_grad():
            w.clamp_(min=1e-3).mul_(len(w) / w.sum())
            first = present & (self.initial_losses_ == 0)
            self.initial_losses_[first] = losses[first].clamp_min(1e-12).to(self.initial_losses_)
        matrices = [p for p in shared_parameters if p.dim() >= 2]
        if matrices and bool(present.any()):
            W = matrices[-1]
            grads = [
                torch.autograd.grad(losses[t], W, retain_graph=True, allow_unused=True)[0]
                for t in torch.nonzero(present).flatten().tolist()
            ]
            norms = torch.stack([W.new_zeros(()) if g is None else g.norm() for g in grads])
            rates = losses.detach()[present] / self.initial_losses_[present]
            loss = gradnorm_loss(w[present], norms, rates, self.alpha)
            (w.grad,) = torch.autograd.grad(loss, w)
        weights = (self.task_weights_ * w * present).detach()
        (weights * losses).sum().backward()
        return weights
