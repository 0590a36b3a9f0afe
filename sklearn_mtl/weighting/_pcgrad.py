"""PCGrad: projecting conflicting gradients."""

import torch

from ._base import BaseWeighting


class PCGrad(BaseWeighting):
    """Project each task gradient off the gradients it conflicts with (PCGrad).

    For each task ``i``, and each other task ``j`` in a random order, when
    ``g_i . g_j < 0`` the (already projected) ``g_i`` is replaced by its
    projection onto the normal plane of ``g_j``:
    ``g_i <- g_i - (g_i . g_j) / ||g_j||^2 g_j``. The shared parameters step
    along the weighted sum of the projected gradients. Costs one backward pass
    per present task plus a ``T x T`` Gram matrix.

    Notes
    -----
    ``task_weights_`` are fixed weights multiplied in: the sum of the projected
    gradients is weighted by them (projecting onto the normal plane of
    ``w_j g_j`` is the same as onto that of ``g_j``), and task-specific
    parameters get the gradient of ``sum_t task_weights[t] * loss_t``. The
    returned weights are these static weights. Absent tasks, and tasks of
    weight 0, take no part: they are neither projected nor projected onto,
    and get weight 0.

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


    def backward(self, losses, present, shared_parameters, specific_parameters):
        """Step the shared parameters along the sum of projected gradients."""
        weights = self.task_weights_ * present
        active = weights > 0
        grads = self.task_gradients(losses, active, shared_parameters)
        gram = (grads @ grads.T).double().cpu()
        tasks = torch.nonzero(active.cpu()).flatten().tolist()
        # A projected g_i stays in the span of the task gradients, so it is
        # tracked by its coefficients: row i of `mix` @ grads; dots come from the Gram.
        mix = torch.eye(len(weights), dtype=torch.float64)
        for i in tasks:
            for j in (tasks[k] for k in torch.randperm(len(tasks)).tolist()):
                dot = mix[i] @ gram[:, j]
                if j != i and dot < 0 and gram[j, j] > 0:
                    mix[i, j] -= dot / gram[j, j]
        combination = weights.double().cpu() @ mix
        direction = combination.to(grads) @ grads
        self.apply(weights, losses, direction, shared_parameters, specific_parameters)
        return weights.detach()
