"""Aligned-MTL: aligning the principal components of the task gradients."""

import torch

from ._base import GramWeighting


class AlignedMTL(GramWeighting):
    """Align the task gradients into an orthogonal, equal-norm system
    (Aligned-MTL).

    With ``G`` the ``T x P`` matrix of task gradients and the eigen-decomposition
    ``G G^T = V Lambda V^T``, the balance matrix
    ``B = sqrt(lambda_min) V Lambda^{-1/2} V^T`` makes the rows of ``B G``
    orthogonal with the norm of the smallest singular value of ``G`` (the
    condition number of the system becomes 1). The shared parameters step
    along ``sum_t prior[t] (B G)_t = G^T w`` with ``w = B prior``. Eigenvalues
    below ``lambda_max * T * eps`` (``eps`` of the gradients' dtype: linearly
    dependent gradients) are dropped,
    and ``lambda_min`` is the smallest one kept. Costs one backward pass per
    present task plus the Gram matrix and a ``T x T`` eigen-decomposition.

    Notes
    -----
    The method is invariant to the scale of each loss (it aligns the
    gradients to equal norms), so ``task_weights`` are not loss scales here
    but the paper's preference vector: the weights of the aligned gradients
    (its uniform prior when they are all 1; the paper's ``1/T`` times ``T``,
    the scale of static weighting). Task-specific parameters get the gradient
    of ``sum_t task_weights[t] * loss_t``: the aligned weights ``w`` can be
    negative, which would make a head climb its loss. The returned weights
    are ``w``, those of the shared step. The decomposition is over the tasks
    taking part (present in the batch, of weight > 0); the others get weight
    0. The rows of the aligned system ``B G`` are orthogonal with norm
    ``sigma_min``, so with linearly independent gradients
    ``||d|| = sigma_min ||p||``. See
    :class:`~sklearn_mtl.weighting.GramWeighting` for the conventions all
    gradient strategies share.

    References
    ----------
    .. [1] Senushkin, D., Patakin, N., Kuznetsov, A. & Konushin, A. (2023).
       Independent component alignment for multi-task learning. Proceedings of
       the IEEE/CVF Conference on Computer Vision and Pattern Recognition
       (CVPR).
    """


    def gram_weights(self, gram, prior, losses):
        """``B p``: the weights of the raw gradients in the aligned step."""
        values, vectors = torch.linalg.eigh(gram)  # ascending
        keep = values > values[-1] * len(prior) * self._precision
        values, vectors = values[keep], vectors[:, keep]
        if not len(values):  # every gradient is 0: no step
            return torch.zeros_like(prior)
        balance = values[0].sqrt() * (vectors / values.sqrt()) @ vectors.T
        return balance @ prior
