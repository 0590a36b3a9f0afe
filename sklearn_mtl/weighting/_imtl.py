"""Impartial multi-task learning, gradient part (IMTL-G)."""

import torch

from ._base import GramWeighting


def impartial_coefficients(gram, preference=None):
    """Coefficients ``alpha`` (summing to 1) of the vectors whose Gram matrix is
    ``gram`` (Tensor ``(k, k)``), whose combination ``d`` has projections
    ``d . u_t`` on the unit vectors ``u_t`` in ratio ``preference`` (equal
    projections by default).

    ``d . u_t = (G alpha)_t / ||g_t||``, so ``alpha`` is proportional to
    ``G^+ (preference * n)`` with ``n_t = ||g_t|| = sqrt(G_tt)``: the paper's
    closed form ``alpha_{2..k} = g_1 U^T (D U^T)^{-1}`` written on the Gram
    matrix, where the pseudo-inverse also covers linearly dependent
    gradients (the generalisation of Quinton & Rey, 2024). All zeros when the
    unnormalised coefficients sum to 0.
    """
    norms = gram.diagonal().clamp_min(0).sqrt()
    target = norms if preference is None else preference * norms
    raw = torch.linalg.pinv(gram, hermitian=True) @ target
    total = raw.sum()
    if total.abs() < 1e-12:
        return torch.zeros_like(raw)
    return raw / total


class IMTLG(GramWeighting):
    """IMTL-G: combine the tasks' gradients of the shared parameters so that
    the update has the same projection on every task's gradient direction.

    Notes
    -----
    With ``u_t = g_t / ||g_t||``, ``D`` the rows ``g_1 - g_t`` and ``U`` the
    rows ``u_1 - u_t`` (``t = 2..k`` over the tasks taking part), the paper
    solves ``alpha_{2..k} = g_1 U^T (D U^T)^{-1}``,
    ``alpha_1 = 1 - sum alpha_{2..k}``: the affine combination whose
    projections ``d . u_t`` are all equal. It is computed on the Gram matrix
    (:func:`impartial_coefficients`), with a pseudo-inverse for linearly
    dependent gradients. The shared parameters step along
    ``d = k sum_t alpha_t g_t`` (the scale of static weighting); the
    coefficients may be negative. Heads get the gradient of
    ``sum_t p_t L_t``, never ``alpha`` (a head of negative ``alpha_t`` would
    climb its own loss; the paper's Algorithm 1 steps each head on its own
    loss).

    The method is invariant to the scale of each loss (its point), so
    scaling the losses by ``task_weights`` would not change its step; instead
    ``task_weights`` ``p`` are its preference: the projections ``d . u_t``
    are in ratio ``p_t`` (equal when the weights are). The returned weights
    are those of the raw gradients in ``d``. See
    :class:`~sklearn_mtl.weighting.GramWeighting` for the conventions all
    gradient strategies share.

    References
    ----------
    .. [1] L. Liu, Y. Li, Z. Kuang, J.-H. Xue, Y. Chen, W. Yang, Q. Liao and
       W. Zhang, "Towards impartial multi-task learning", ICLR, 2021.
    """

    def gram_weights(self, gram, prior, losses):
        """Impartial coefficients, in ratio ``prior``, at the sum scale."""
        return prior.sum() * impartial_coefficients(gram, prior / prior.mean())
