"""CAGrad: conflict-averse gradient descent."""

import warnings
from numbers import Integral, Real

import numpy as np
import torch
from scipy.optimize import minimize
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Interval, Options

from ._base import GramWeighting

_TOLERANCE = 1e-14
_MAX_ITERATIONS = 1000
_TINY = 1e-30
_STATIONARY = 1e-6  # ||g_w|| below this, relative to the gradients' norms


class CAGrad(GramWeighting):
    """Step along the direction, near the average gradient, that most improves
    the worst task (CAGrad).

    With ``g_t`` the gradients of the weighted losses ``p_t L_t``
    (``p = task_weights``), ``g0`` their average and ``phi = c^2 ||g0||^2``,
    the simplex weights ``w`` minimise
    ``F(w) = g_w . g0 + sqrt(phi) ||g_w||`` where ``g_w = sum_t w_t g_t`` (the
    dual of maximising ``min_t g_t . d`` over ``||d - g0|| <= sqrt(phi)``), and
    the paper's step is ``d = g0 + sqrt(phi) / ||g_w|| g_w``. ``F`` is
    minimised on the ``k x k`` Gram matrix by sequential quadratic
    programming, to convergence (a ``ConvergenceWarning`` says when it does
    not). With ``c >= 1`` the ball holds 0, so ``d`` lowers no task's loss to
    first order. When the minimising ``g_w`` is 0 (below 1e-6 of the
    gradients' norm: 0 is in their hull, a Pareto-stationary point) ``d`` is
    undefined and the shared parameters do not move, as in torchjd. Costs one
    backward pass per task taking part plus the Gram matrix and a solve of
    about a millisecond.

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
    The shared parameters step along ``k d`` over the ``k`` tasks taking
    part (the scale of static weighting: ``g0`` is a mean); heads get the
    gradient of ``sum_t p_t L_t``. The returned weights are those of the raw
    gradients in the shared step. See
    :class:`~sklearn_mtl.weighting.GramWeighting` for the conventions all
    gradient strategies share.

    References
    ----------
    .. [1] Liu, B., Liu, X., Jin, X., Stone, P. & Liu, Q. (2021).
       Conflict-averse gradient descent for multi-task learning. Advances in
       Neural Information Processing Systems (NeurIPS) 34.
    """

    _parameter_constraints = {
        "c": [Interval(Real, 0, None, closed="left")],
        "rescale": [Options(Integral, {0, 1, 2})],
    }

    def __init__(self, c=0.5, rescale=1):
        self.c = c
        self.rescale = rescale

    def gram_weights(self, gram, prior, losses):
        """Conflict-averse weights of the raw task gradients."""
        scale = prior.numpy()
        weighted = gram.numpy() * np.outer(scale, scale)  # Gram of p_t g_t
        k = len(scale)
        sqrt_phi = self.c * np.sqrt(max(weighted.mean(), 0.0))  # c ||g0||
        w = _minimise_on_simplex(weighted, sqrt_phi)
        norm = np.sqrt(max(w @ weighted @ w, 0.0))  # ||g_w||
        if sqrt_phi > 0 and norm <= _STATIONARY * np.sqrt(weighted.trace()):
            # 0 is in the hull of the gradients (a Pareto-stationary point): no
            # direction lowers every loss, and d is undefined; no shared step
            return torch.zeros_like(prior)
        mix = 1 / k + (sqrt_phi / norm if norm > 0 else 0.0) * w
        mix = mix / (1.0, 1 + self.c**2, 1 + self.c)[int(self.rescale)]
        return torch.from_numpy(k * scale * mix)


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
