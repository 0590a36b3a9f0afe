"""The per-task loss: one vector of task losses from concatenated logits."""

from functools import lru_cache

import torch
import torch.nn.functional as F


@lru_cache(maxsize=64)
def _groups(split_sizes):
    """Tasks grouped by their number of classes, with their logit columns.

    Tasks with the same number of classes share one cross-entropy call, so the
    cost does not grow with a Python loop over tasks.
    """
    offsets, start = [], 0
    for k in split_sizes:
        offsets.append(start)
        start += k
    by_size = {}
    for t, k in enumerate(split_sizes):
        by_size.setdefault(k, []).append(t)
    groups = []
    for k, tasks in by_size.items():
        columns = [offsets[t] + c for t in tasks for c in range(k)]
        contiguous = columns == list(range(columns[0], columns[0] + len(columns)))
        groups.append((k, tuple(tasks), tuple(columns), contiguous))
    return tuple(groups)


@lru_cache(maxsize=64)
def _group_index(split_sizes, device):
    """Per group: task and column index tensors on ``device``, made once rather
    than at every batch (on a GPU each would be a host-to-device copy)."""
    n_tasks = len(split_sizes)
    return tuple(
        (
            None if len(tasks) == n_tasks else torch.tensor(tasks, device=device),
            None if contiguous else torch.tensor(columns, device=device),
        )
        for _, tasks, columns, contiguous in _groups(split_sizes)
    )


def task_losses(logits, codes, split_sizes, class_weights=None, sample_weight=None,
                label_smoothing=0.0):
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
    label_smoothing : float, default=0.0
        Share of each target's probability spread evenly over the task's
        classes (Szegedy et al., 2016, "Rethinking the Inception
        Architecture", section 7).

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
    n, n_tasks = codes.shape
    losses = logits.new_zeros(n_tasks, dtype=torch.float32)
    denominators = logits.new_zeros(n_tasks, dtype=torch.float32)
    split_sizes = tuple(split_sizes)
    indices = _group_index(split_sizes, logits.device)
    for (k, tasks, columns, contiguous), (index, column_index) in zip(
        _groups(split_sizes), indices
    ):
        if contiguous:
            block = logits[:, columns[0] : columns[0] + len(columns)]
        else:
            block = logits[:, column_index]
        target = codes if index is None else codes[:, index]
        labelled = target >= 0
        safe_target = target.clamp_min(0)
        # float32 even under autocast: log-softmax in bf16 loses the small losses
        nll = F.cross_entropy(
            block.float().reshape(n * len(tasks), k), safe_target.reshape(-1), reduction="none",
            label_smoothing=label_smoothing,
        ).view(n, len(tasks))
        weight = labelled.to(nll.dtype)
        if sample_weight is not None:
            weight = weight * sample_weight.unsqueeze(1)
        if class_weights is not None and any(class_weights[t] is not None for t in tasks):
            table = torch.stack(
                [
                    class_weights[t] if class_weights[t] is not None
                    else torch.ones(k, device=logits.device)
                    for t in tasks
                ]
            )  # (len(tasks), k)
            weight = weight * torch.gather(table.T, 0, safe_target)
        denominator = weight.sum(0)
        group_losses = (weight * nll).sum(0) / denominator.clamp_min(1e-12)
        if index is None:
            losses, denominators = group_losses, denominator
        else:
            losses = losses.index_put((index,), group_losses)
            denominators = denominators.index_put((index,), denominator)
    return losses, denominators
