"""The per-task loss: one vector of task losses from concatenated logits."""

import torch
import torch.nn.functional as F


def task_losses(logits, codes, split_sizes, class_weights=None, sample_weight=None):
    """Weighted mean cross-entropy of each task over the rows labelled for it.

    Parameters
    ----------
    logits : Tensor of shape (n, sum(split_sizes))
        Concatenated logits of all tasks.
    codes : LongTensor of shape (n, n_tasks)
        Class index per task; ``-1`` marks a missing label.
    split_sizes : list of int
        Number of classes of each task.
    class_weights : list of (Tensor or None), optional
        Per-task weight of each class.
    sample_weight : Tensor of shape (n,), optional
        Weight of each row.

    Returns
    -------
    losses : Tensor of shape (n_tasks,)
        ``sum_i w_i * CE_i / sum_i w_i`` over the labelled rows ``i`` of each
        task, with ``w_i = sample_weight_i * class_weight[y_i]``; exactly 0
        (and no gradient) for a task without labelled rows in the batch.
    denominators : Tensor of shape (n_tasks,)
        ``sum_i w_i`` of each task; a task is present in the batch when its
        denominator is positive.
    """
    losses, denominators = [], []
    for t, chunk in enumerate(torch.split(logits, split_sizes, dim=1)):
        target = codes[:, t]
        labelled = target >= 0
        safe_target = target.clamp_min(0)
        # float32 even under autocast: log-softmax in bf16 loses the small losses
        nll = F.cross_entropy(chunk.float(), safe_target, reduction="none")
        weight = labelled.to(nll.dtype)
        if sample_weight is not None:
            weight = weight * sample_weight
        if class_weights is not None and class_weights[t] is not None:
            weight = weight * class_weights[t][safe_target]
        denominator = weight.sum()
        losses.append((weight * nll).sum() / denominator.clamp_min(1e-12))
        denominators.append(denominator)
    return torch.stack(losses), torch.stack(denominators)
