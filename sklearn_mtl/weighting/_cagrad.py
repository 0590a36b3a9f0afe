"""CAGrad: conflict-averse gradient descent."""

import numpy as np
import torch

from ._base import BaseWeighting

_SOLVER_ITERATIONS = 100


class CAGrad(BaseWeighting):
    """Step along the direction, near the average gradient, that most improves
    the worst task (CAGrad).

    With ``g0`` the average of the task gradients and ``phi = c^2 ||g0||^2``,
    the simplex weights ``w`` minimise
    ``F(w) = g_w . g0 + sqrt(phi) ||g_w||`` where ``g_w = sum_t w_t g_t`` (the
    dual of maximising ``min_t g_t . d`` over ``||d - g0|| <= sqrt(phi)``), and
    the shared parameters step along
    ``d = g0 + sqrt(phi) / ||g_w|| g_w``. ``F`` is minimised by projected
    gradient descent with backtracking on the ``T x T`` Gram matrix. Costs one
    backward pass per present task plus the Gram matrix.

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
    ``b = gram.mean(1)`` (``g_t . g0``); float64 numpy, a few microseconds a step."""
    trace = gram.trace()
    if trace > 0:  # the minimiser is scale-free: work at unit scale
        gram, sqrt_phi = gram / trace, sqrt_phi / np.sqrt(trace)
    b = gram.mean(1)

    def objective(w):
        return w @ b + sqrt_phi * np.sqrt(max(w @ gram @ w, 0.0))

    w = np.full(len(b), 1 / len(b))
    value, step = objective(w), 1.0
    for _ in range(_SOLVER_ITERATIONS):
        grad = b + sqrt_phi * (gram @ w) / np.sqrt(max(w @ gram @ w, 1e-30))
        for _ in range(40):  # backtrack until the quadratic upper bound holds
            new = _project_on_simplex(w - step * grad)
            move = new - w
            new_value = objective(new)
            if new_value <= value + grad @ move + move @ move / (2 * step) + 1e-15:
                break
            step /= 2
        converged = value - new_value < 1e-16
        w, value, step = new, new_value, step * 2
        if converged:
            break
    return w


def _project_on_simplex(v):
    """Euclidean projection of ``v`` on ``{w >= 0, sum w = 1}``."""
    u = np.sort(v)[::-1]
    threshold = (np.cumsum(u) - 1) / np.arange(1, len(v) + 1)
    k = np.nonzero(u > threshold)[0][-1]
    return np.maximum(v - threshold[k], 0.0)
