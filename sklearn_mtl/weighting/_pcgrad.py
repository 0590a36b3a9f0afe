"""PCGrad: projecting conflicting gradients."""

import torch

from ._base import GramWeighting


class PCGrad(GramWeighting):
    """Project each task gradient off the gradients it conflicts with (PCGrad).

    For each task ``i``, and each other task ``j`` in a random order, when
    ``g_i . g_j < 0`` the (already projected) ``g_i`` is replaced by its
    projection onto the normal plane of ``g_j``:
    ``g_i <- g_i - (g_i . g_j) / ||g_j||^2 g_j``. The shared parameters step
    along the sum of the projected gradients (the paper's scale, that of
    static weighting). A projected ``g_i`` stays in the span of the task
    gradients, so it is tracked by its coefficients and every dot product
    comes from the Gram matrix. Costs one backward pass per task taking part
    plus the ``k x k`` Gram matrix.

    Notes
    -----
    ``g_t`` are the gradients of the weighted losses ``p_t L_t``
    (``p = task_weights``); projecting onto the normal plane of ``p_j g_j`` is
    the same as onto that of ``g_j``, so the step is ``sum_t p_t g_t^PC``.
    Heads get the gradient of ``sum_t p_t L_t``. The returned weights are
    those of the raw gradients in the shared step. See
    :class:`~sklearn_mtl.weighting.GramWeighting` for the conventions all
    gradient strategies share.

    The orders of ``j`` are drawn from torch's global random generator, which
    :class:`~sklearn_mtl.MultiTaskClassifier` seeds from ``random_state``
    during ``fit`` (and restores afterwards). The order of ``i`` does not
    change the result, as each ``g_i`` is projected onto the original ``g_j``.

    References
    ----------
    .. [1] Yu, T., Kumar, S., Gupta, A., Levine, S., Hausman, K. & Finn, C.
       (2020). Gradient surgery for multi-task learning. Advances in Neural
       Information Processing Systems (NeurIPS) 33.
    """

    def gram_weights(self, gram, prior, losses):
        """Weights of the raw gradients in the sum of the projected ones."""
        k = len(prior)
        mix = torch.eye(k, dtype=torch.float64)  # row i: coefficients of g_i^PC
        for i in range(k):
            for j in torch.randperm(k).tolist():
                dot = mix[i] @ gram[:, j]
                if j != i and dot < 0 and gram[j, j] > 0:
                    mix[i, j] -= dot / gram[j, j]
        return prior @ mix
