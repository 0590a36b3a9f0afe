"""Inter-task affinity by look-ahead steps (TAG, Fifty et al., 2021).

The affinity of task ``i`` onto task ``j`` at a training step is the relative
change of ``j``'s loss when the shared parameters take one plain gradient step
on ``i``'s loss alone, on the same batch::

    Z[i, j] = 1 - L_j(theta_s - lr * grad_{theta_s} L_i, theta_j) / L_j(theta_s, theta_j)

Positive: a step for ``i`` lowers ``j``'s loss (``i`` helps ``j``); negative:
it raises it. The estimator averages ``Z`` over the steps it measures.

Reference: Fifty, C., Amid, E., Zhao, Z., Yu, T., Anil, R. & Finn, C. (2021).
Efficiently identifying task groupings for multi-task learning. NeurIPS.
"""

import torch


def lookahead_affinity(losses, present, shared, lrs, lookahead_losses):
    """One step's matrix of look-ahead affinities.

    Parameters
    ----------
    losses : Tensor of shape (n_tasks,)
        Task losses at the current parameters, still attached to the graph.
    present : BoolTensor of shape (n_tasks,)
        Tasks with labelled rows in the batch; the others get NaN rows and
        columns (no gradient to step on, no loss to change).
    shared : list of Parameter
        The shared parameters ``theta_s``.
    lrs : list of float
        Learning rate of each shared parameter.
    lookahead_losses : callable
        ``lookahead_losses(values)`` returns the task losses (a tensor of shape
        ``(n_tasks,)``) on the same batch with the shared parameters replaced by
        ``values`` (a list of tensors in the order of ``shared``).

    Returns
    -------
    Z : Tensor of shape (n_tasks, n_tasks)
        ``Z[i, j]``: affinity of task ``i`` (whose step is taken) onto task
        ``j`` (whose loss changes); the diagonal holds each task's affinity
        onto itself. NaN where ``i`` or ``j`` is absent or ``L_j`` is 0.
    """
    n_tasks = losses.shape[0]
    before = losses.detach()
    Z = torch.full((n_tasks, n_tasks), float("nan"), device=before.device)
    # read once per measured step: which tasks to step on
    tasks = torch.nonzero(present).flatten().tolist()
    if not tasks:
        return Z
    usable = present & (before > 0)
    for i in tasks:
        grads = torch.autograd.grad(losses[i], shared, retain_graph=True, allow_unused=True)
        with torch.no_grad():
            values = [
                p if g is None else p - lr * g for p, g, lr in zip(shared, grads, lrs)
            ]
            after = lookahead_losses(values).detach().float()
            ratio = after / torch.where(usable, before, torch.ones_like(before))
            Z[i] = torch.where(usable, 1.0 - ratio, torch.full_like(ratio, float("nan")))
    return Z
