"""CAGrad: conflict-averse gradient descent."""

import warnings

import numpy as np
import torch
from scipy.optimize import minimize
from sklearn.exceptions import ConvergenceWarning

from ._base import BaseWeighting

_TOLERANCE = 1e-14
_MAX_ITERATIONS = 1000
_TINY = 1e-30


class CAGrad(BaseWeighting):
    """Step along the direction, near the average gradient, that most improves
    the worst task (CAGrad).

    With ``g0`` the average of the task gradients and ``phi = c^2 ||g0||^2``,
    the simplex weights ``w`` minimise
    ``F(w) = g_w . g0 + sqrt(phi) ||g_w||`` where ``g_w = sum_t w_t g_t`` (the
    dual of maximising ``min_t g_t . d`` over ``||d - g0|| <= sqrt(phi)``), and
    the shared parameters step along
    ``d = g0 + sqrt(phi) / ||g_w|| g_w``. ``F`` is minimised on the ``T x T``
    Gram matrix by sequential quadratic programming, to convergence (a
    ``ConvergenceWarning`` says when it does not). Costs one backward pass per
    present task plus the Gram matrix and a solve of about a millisecond.

    Parameters
    ----------
    c : float, default=0.5
        Radius of the ball around ``g0``, relative to ``||g0||``; 0 gives the
        average gradient.
    rescale : {0, 1, 2}, default=1
        Divide ``d`` by 1 (0), by ``1 + c^2`` (1) or by ``1 + c`` (2), as in
        the paper's code, to keep the step size comparable.

    Notes
    -----
    ``task_weights_`` are fixed weights multiplied in: ``g_t`` is
    ``task_weights[t]`` times the gradient of task ``t``, and task-specific
    parameters get the gradient of ``sum_t task_weights[t] * loss_t``. The
    returned weights are those of the shared step,
    ``d = sum_t weights[t] * grad(loss_t)``. The average and the solve are
    over the tasks present in the batch (and of weight > 0); the others get
    weight 0.

    References
    ----------
    .. [1] Liu, B., Liu, X., Jin, X., Stone, P. & Liu, Q. (2021).
       Conflict-averse gradient descent for multi-task learning. Advances in
       Neural Information Processing Systems (NeurIPS) 34.
    """


    def __init__(self, c=0.5, rescale=1):
        self.c = c
        self.rescale = rescale

    def setup(self, n_tasks, task_weights, device):
        if not self.c >= 0:
            raise ValueError(f"CAGrad's c must be >= 0; got {self.c!r}.")
        if self.rescale not in (0, 1, 2):
            raise ValueError(f"CAGrad's rescale must be 0, 1 or 2; got {self.rescale!r}.")
        return super().setup(n_tasks, task_weights, device)

    def backward(self, losses, present, shared_parameters, specific_parameters):
        """Step the shared parameters along the conflict-averse direction."""
        static = self.task_weights_ * present
        tasks = torch.nonzero(static > 0).flatten()
        grads = self.task_gradients(losses, static > 0, shared_parameters)
        weights = torch.zeros_like(static)
        if len(tasks):
            scale = static[tasks].double().cpu().numpy()
            sub = grads[tasks]
            gram = (sub @ sub.T).double().cpu().numpy() * np.outer(scale, scale)
            sqrt_phi = self.c * np.sqrt(max(gram.mean(), 0.0))  # c ||g0||
            w = _minimise_on_simplex(gram, sqrt_phi)
            norm = np.sqrt(max(w @ gram @ w, 0.0))  # ||g_w||
            mix = 1 / len(tasks) + (sqrt_phi / norm if norm > 0 else 0.0) * w
            mix = mix / (1.0, 1 + self.c**2, 1 + self.c)[int(self.rescale)]
            weights[tasks] = torch.from_numpy(scale * mix).to(weights)
        direction = weights.to(grads) @ grads
        self.apply(static, losses, direction, shared_parameters, specific_parameters)
        return weights.detach()


def _minimise_on_simplex(gram, sqrt_phi):
    """``argmin_w w . b + sqrt_phi * sqrt(w^T gram w)`` over the simplex, with
    ``b = gram.mean(1)`` (``g_t . g0``), in float64.

    The objective is convex; it is solved by sequential quadratic programming
    (scipy's SLSQP) to a tolerance of 1e-14 on the objective at unit scale.
    A fixed number of projected-gradient steps is not enough: when one task's
    gradient is 100 times another's, the Gram matrix is so ill-conditioned
    that such steps stop tens of thousands of iterations short of the optimum
    and return a direction that raises a task's loss. A solve that does not
    converge warns (``ConvergenceWarning``) and returns its best point.
    """
    trace = gram.trace()
    if trace > 0:  # the minimiser is scale-free: work at unit scale
        gram, sqrt_phi = gram / trace, sqrt_phi / np.sqrt(trace)
    b = gram.mean(1)
    n = len(b)
    if n == 1:
        return np.ones(1)

    def objective(w):
        return w @ b + sqrt_phi * np.sqrt(max(w @ gram @ w, _TINY))

    def gradient(w):
        return b + sqrt_phi * (gram @ w) / np.sqrt(max(w @ gram @ w, _TINY))

    result = minimize(
        objective, np.full(n, 1 / n), jac=gradient, method="SLSQP",
        bounds=[(0.0, 1.0)] * n,
        constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1, "jac": lambda w: np.ones(n)}],
        options={"ftol": _TOLERANCE, "maxiter": _MAX_ITERATIONS},
    )
    if not result.success:
        warnings.warn(
            f"CAGrad's solver did not converge ({result.message}); the step uses "
            "its best point so far.",
            ConvergenceWarning,
            stacklevel=3,
        )
    w = np.clip(result.x, 0.0, None)
    return w / w.sum()
