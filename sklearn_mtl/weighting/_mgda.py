"""Multiple-gradient descent: the min-norm point of the task gradients."""

import numpy as np
import torch
from sklearn.utils._param_validation import StrOptions

from ._base import BaseWeighting

_MAX_ITER = 250
_TOL = 1e-8


def min_norm_coefficients(gram):
    """Convex coefficients of the min-norm point of the hull of vectors whose
    Gram matrix is ``gram`` (ndarray ``(k, k)``).

    Frank-Wolfe from the uniform point with exact line search (the paper's
    Algorithm 2, whose first step for two vectors is the closed form
    ``alpha_1 = (g_2 - g_1) . g_2 / ||g_1 - g_2||^2`` clipped to [0, 1]), with
    away steps: plain Frank-Wolfe only creeps towards a min-norm point on a
    face of the simplex (a task with coefficient 0).
    """
    k = gram.shape[0]
    alpha = np.full(k, 1.0 / k)
    tol = _TOL * max(gram.diagonal().max(), 1e-30)
    for _ in range(_MAX_ITER if k > 1 else 0):
        grad = gram @ alpha  # half the gradient of alpha' G alpha
        toward = int(np.argmin(grad))
        away = int(np.argmax(np.where(alpha > 0, grad, -np.inf)))
        if grad @ alpha - grad[toward] < tol:  # the Frank-Wolfe gap bounds the excess
            break
        if grad @ alpha - grad[toward] >= grad[away] - grad @ alpha:
            direction, max_step = -alpha, 1.0
            direction[toward] += 1
        else:
            direction, max_step = alpha.copy(), alpha[away] / (1 - alpha[away])
            direction[away] -= 1
        curvature = direction @ gram @ direction
        step = -(grad @ direction) / curvature if curvature > 0 else max_step
        alpha = alpha + min(step, max_step) * direction
        alpha[away] = max(alpha[away], 0.0)  # a full away step removes the task
    return alpha


class MGDA(BaseWeighting):
    """Multiple-gradient descent (MGDA-UB): step along the min-norm point of
    the convex hull of the tasks' gradients of the shared parameters.

    Parameters
    ----------
    normalization : {"none", "l2", "loss", "loss+"}, default="none"
        Divisor of each task's gradient before the min-norm solve: 1, the
        gradient's norm, the task's loss, or their product.

    Notes
    -----
    The min-norm coefficients ``alpha`` (summing to 1 over the present tasks)
    are multiplied by the number of present tasks, so that equal gradients get
    the weights of equal weighting. The shared parameters step along
    ``sum_t w_t g_t / s_t`` (``s_t`` the normalizer); the other parameters
    (heads) get the gradient of ``sum_t w_t L_t``; ``w`` is returned. The
    paper's MGDA-UB takes gradients with respect to the shared representation;
    here they are taken with respect to the shared parameters, which costs one
    backward pass per present task.

    The user's ``task_weights_`` are fixed weights multiplied into the solved
    coefficients (so the min-norm property holds only when they are equal); a
    task of weight 0 is left out of the solve. Absent tasks are left out of
    the solve and get weight 0.

    References
    ----------
    .. [1] O. Sener and V. Koltun, "Multi-task learning as multi-objective
       optimization", NeurIPS, 2018.
    """

    _parameter_constraints = {"normalization": [StrOptions({"none", "l2", "loss", "loss+"})]}

    def __init__(self, normalization="none"):
        self.normalization = normalization

    def setup(self, n_tasks, task_weights, device):
        self._validate_params()
        return super().setup(n_tasks, task_weights, device)

    def backward(self, losses, present, shared_parameters, specific_parameters):
        grads = self.task_gradients(losses, present, shared_parameters)
        active = present & (self.task_weights_ > 0)
        scale = torch.ones_like(losses).detach()
        if self.normalization in ("l2", "loss+"):
            scale = scale * grads.norm(dim=1)
        if self.normalization in ("loss", "loss+"):
            scale = scale * losses.detach()
        scale = torch.where(active, scale.clamp_min(1e-12), torch.ones_like(scale))
        normalized = grads[active] / scale[active, None]
        gram = (normalized @ normalized.T).double().cpu().numpy()
        weights = torch.zeros_like(scale)
        if gram.shape[0]:
            alpha = torch.as_tensor(min_norm_coefficients(gram), dtype=scale.dtype)
            weights[active] = alpha.to(scale.device) * gram.shape[0]
        weights = weights * self.task_weights_
        self.apply(weights, losses, (weights / scale) @ grads, shared_parameters,
                   specific_parameters)
        return weights
