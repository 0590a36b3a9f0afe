"""Multiple-gradient descent: the min-norm point of the task gradients."""

import warnings

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import StrOptions

from ._base import GramWeighting

_TOLERANCE = 1e-12  # on the Frank-Wolfe gap, at unit trace


def min_norm_coefficients(gram):
    """Convex coefficients of the min-norm point of the hull of vectors whose
    Gram matrix is ``gram`` (array-like ``(k, k)``, positive semi-definite).

    Solves ``min_a a^T G a`` over the simplex exactly by a primal active-set
    method (Nocedal & Wright, 2006, Algorithm 16.3): on each set of free
    coefficients the equality-constrained problem is one ``(f+1) x (f+1)``
    linear solve; a blocking coefficient joins the bound set, and a bound of
    negative multiplier leaves it. It ends, in at most a few times ``k``
    steps, when the Frank-Wolfe gap ``a^T G a - min_t (G a)_t`` (which bounds
    the excess objective) is below 1e-12 at unit trace. Frank-Wolfe itself,
    the paper's Algorithm 2, only creeps towards a minimum on a face of the
    simplex: on ill-conditioned Gram matrices it needs 10^4 steps or more. A
    solve that does not end warns (``ConvergenceWarning``) and returns its
    best point.

    For two vectors this is the paper's closed form
    ``alpha_1 = (g_2 - g_1) . g_2 / ||g_1 - g_2||^2`` clipped to [0, 1].

    References
    ----------
    .. [1] J. Nocedal and S. J. Wright, "Numerical optimization", 2nd ed.,
       Springer, 2006, section 16.5.
    """
    gram = np.asarray(gram, dtype=float)
    k = gram.shape[0]
    trace = gram.trace()
    if k == 1 or trace <= 0:
        return np.full(k, 1.0 / k)
    gram = gram / trace
    alpha = np.full(k, 1.0 / k)  # equal gradients keep equal coefficients
    bound = np.zeros(k, dtype=bool)  # the coefficients held at 0
    for _ in range(10 * k + 20):
        grad = gram @ alpha
        if alpha @ grad - grad.min() <= _TOLERANCE:
            return alpha
        free = np.flatnonzero(~bound)
        f = len(free)
        kkt = np.zeros((f + 1, f + 1))
        kkt[:f, :f] = gram[np.ix_(free, free)]
        kkt[:f, f] = kkt[f, :f] = 1.0
        rhs = np.zeros(f + 1)
        rhs[f] = 1.0
        target = np.linalg.lstsq(kkt, rhs, rcond=None)[0][:f]
        step = target - alpha[free]
        if np.abs(step).max() <= 1e-15:
            # optimal on this face: free the bound of most negative multiplier
            candidates = np.flatnonzero(bound)
            multipliers = grad[candidates] - alpha @ grad
            bound[candidates[int(np.argmin(multipliers))]] = False
            continue
        shrinking = step < 0
        ratios = np.where(shrinking, -alpha[free] / np.where(shrinking, step, -1.0), np.inf)
        blocking = int(np.argmin(ratios))
        length = min(1.0, ratios[blocking])
        alpha[free] = np.clip(alpha[free] + length * step, 0.0, None)
        if length < 1.0:
            alpha[free[blocking]] = 0.0
            bound[free[blocking]] = True
        alpha /= alpha.sum()
    warnings.warn(
        "MGDA's min-norm solver did not converge; the step uses its last point.",
        ConvergenceWarning,
        stacklevel=4,
    )
    return alpha


class MGDA(GramWeighting):
    """Multiple-gradient descent (MGDA-UB): step along the min-norm point of
    the convex hull of the tasks' gradients of the shared parameters.

    Parameters
    ----------
    normalization : {"none", "l2", "loss", "loss+"}, default="none"
        Divisor ``s_t`` of each task's gradient before the min-norm solve: 1,
        the gradient's norm, the task's loss, or their product.

    Notes
    -----
    With ``g_t`` the gradient of the weighted loss ``p_t L_t``
    (``p = task_weights``) and ``u_t = g_t / s_t``, the min-norm coefficients
    ``alpha`` (convex, found exactly by :func:`min_norm_coefficients`) give
    the shared step ``d = k sum_t alpha_t u_t`` over the ``k`` tasks taking
    part: the paper's point times ``k``, so that ``k`` equal gradients step as
    static weighting does. ``d`` lowers every task's loss to first order
    (``u_t . d >= ||d||^2 / k``), or is 0 at a Pareto-stationary point. The
    heads get the gradient of ``sum_t p_t L_t`` (the paper's Algorithm 2
    steps each head on its own loss). The returned weights are those of the
    raw gradients, ``k alpha_t p_t / s_t``. The paper's MGDA-UB takes
    gradients with respect to the shared representation; here they are taken
    with respect to the shared parameters, which costs one backward pass per
    task taking part. See :class:`~sklearn_mtl.weighting.GramWeighting` for
    the conventions all gradient strategies share.

    References
    ----------
    .. [1] O. Sener and V. Koltun, "Multi-task learning as multi-objective
       optimization", NeurIPS, 2018.
    """

    _parameter_constraints = {"normalization": [StrOptions({"none", "l2", "loss", "loss+"})]}

    def __init__(self, normalization="none"):
        self.normalization = normalization

    def gram_weights(self, gram, prior, losses):
        """Min-norm weights of the (weighted, normalised) task gradients."""
        divisor = torch.ones_like(prior)
        if self.normalization in ("l2", "loss+"):
            divisor = divisor * prior * gram.diagonal().clamp_min(0).sqrt()
        if self.normalization in ("loss", "loss+"):
            divisor = divisor * prior * losses
        factor = prior / divisor.clamp_min(1e-12)  # u_t = factor_t * grad(L_t)
        alpha = min_norm_coefficients((gram * torch.outer(factor, factor)).numpy())
        return len(prior) * torch.from_numpy(alpha) * factor
