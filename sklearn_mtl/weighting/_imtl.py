"""Impartial multi-task learning, gradient part (IMTL-G)."""

import torch

from ._base import BaseWeighting


def impartial_coefficients(grads):
    """Coefficients ``alpha`` (summing to 1) of the rows of ``grads`` (``(k, P)``)
    whose combination ``d = alpha @ grads`` has equal projections ``d . u_t`` on
    every unit gradient ``u_t = g_t / ||g_t||``."""
    if grads.shape[0] == 1:
        return grads.new_ones(1)
    grads = grads.double()
    units = grads / grads.norm(dim=1, keepdim=True).clamp_min(1e-12)
    D = grads[:1] - grads[1:]
    U = units[:1] - units[1:]
    # alpha_{2..k} = g_1 U^T (D U^T)^{-1}; the pseudo-inverse covers parallel gradients
    rest = (U @ grads[0]) @ torch.linalg.pinv(D @ U.T)
    return torch.cat([1 - rest.sum(0, keepdim=True), rest]).float()


class IMTLG(BaseWeighting):
    """IMTL-G: combine the tasks' gradients of the shared parameters so that
    the update has the same projection on every task's gradient direction.

    Notes
    -----
    With ``u_t = g_t / ||g_t||``, ``D`` the rows ``g_1 - g_t`` and ``U`` the
    rows ``u_1 - u_t`` (``t = 2..k`` over the present tasks), the paper solves
    ``alpha_{2..k} = g_1 U^T (D U^T)^{-1}`` and ``alpha_1 = 1 - sum alpha_{2..k}``;
    the shared parameters step along ``sum_t alpha_t g_t`` and the other
    parameters (heads) get the gradient of ``sum_t alpha_t L_t``. As in the
    paper the coefficients sum to 1 and may be negative. A pseudo-inverse
    handles a singular ``D U^T`` (parallel gradients); a single present task
    gets coefficient 1. Costs one backward pass per present task.

    The user's ``task_weights_`` are fixed weights multiplied into the solved
    coefficients (so the projections are equal only when they are equal); a
    task of weight 0 is left out of the solve. Absent tasks are left out of
    the solve and get weight 0.

    References
    ----------
    .. [1] L. Liu, Y. Li, Z. Kuang, J.-H. Xue, Y. Chen, W. Yang, Q. Liao and
       W. Zhang, "Towards impartial multi-task learning", ICLR, 2021.
    """


    def backward(self, losses, present, shared_parameters, specific_parameters):
        grads = self.task_gradients(losses, present, shared_parameters)
        active = present & (self.task_weights_ > 0)
        weights = torch.zeros_like(losses).detach()
        if bool(active.any()):
            weights[active] = impartial_coefficients(grads[active])
        weights = weights * self.task_weights_
        self.apply(weights, losses, weights @ grads, shared_parameters, specific_parameters)
        return weights
