"""Which tasks should share a network: grouping advice from task affinity.

:func:`suggest_task_groups` turns a matrix of inter-task affinities (such as
``MultiTaskClassifier(affinity_every=...).task_affinity_``) into the partition
of the tasks that maximises the total affinity inside groups;
:func:`plot_task_affinity` draws the matrix with the chosen groups;
:class:`~sklearn_mtl.GroupedMultiTaskClassifier` trains one network per group.

Reference: Fifty, C., Amid, E., Zhao, Z., Yu, T., Anil, R. & Finn, C. (2021).
Efficiently identifying task groupings for multi-task learning. NeurIPS.
"""

import numbers
import warnings
from dataclasses import dataclass

import numpy as np

__all__ = [
    "TaskGrouping",
    "plot_task_affinity",
    "suggest_task_groups",
]

# Above this many tasks the exact search (3**n subsets) gives way to the heuristic.
EXACT_MAX_TASKS = 12


@dataclass
class TaskGrouping:
    """A partition of the tasks into groups, and how it scores.

    Attributes
    ----------
    groups : list of list
        The groups, each a list of task names (or of indices when no names
        were given), tasks in their original order within a group, groups
        ordered by their first task.
    group_scores : ndarray of shape (n_groups,)
        Score of each group: the sum over its tasks of ``task_scores``.
    task_scores : ndarray of shape (n_tasks,)
        For each task, the mean affinity onto it from the other members of its
        group; 0 for a task alone in its group.
    score : float
        Total score of the partition, the sum of ``group_scores``: what the
        search maximises.
    method : {"exact", "heuristic"}
        How the partition was found.
    affinity : ndarray of shape (n_tasks, n_tasks)
        The affinity matrix the advice was computed from.
    task_names : list
        The tasks, in the order of the matrix's rows.
    """

    groups: list
    group_scores: np.ndarray
    task_scores: np.ndarray
    score: float
    method: str
    affinity: np.ndarray
    task_names: list

    @property
    def n_groups(self):
        """Number of groups."""
        return len(self.groups)

    def __str__(self):
        lines = [f"{self.n_groups} group(s), total affinity score {self.score:.4g} "
                 f"({self.method} search)"]
        for group, score in zip(self.groups, self.group_scores):
            members = ", ".join(str(t) for t in group)
            lines.append(f"  [{members}]  score {score:.4g}")
        return "\n".join(lines)


def _as_matrix(affinity):
    """``affinity`` as a new float64 array; a clear error for non-numbers."""
    try:
        return np.array(affinity, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(
            "affinity must be a numeric (n_tasks, n_tasks) matrix, such as "
            f"MultiTaskClassifier(affinity_every=...).task_affinity_; it holds "
            f"values that are not numbers ({error})."
        ) from None


def _check_affinity(affinity):
    affinity = _as_matrix(affinity)  # a copy: NaN is replaced below
    if affinity.ndim != 2 or affinity.shape[0] != affinity.shape[1] or affinity.shape[0] < 1:
        raise ValueError(
            f"affinity must be a square (n_tasks, n_tasks) matrix; got shape {affinity.shape}."
        )
    off_diagonal = ~np.eye(affinity.shape[0], dtype=bool)
    if np.isinf(affinity[off_diagonal]).any():
        raise ValueError("affinity holds infinite values off the diagonal.")
    # a pair never measured (its tasks never labelled in one batch) gives no evidence
    affinity[np.isnan(affinity)] = 0.0
    np.fill_diagonal(affinity, 0.0)
    return affinity


def _task_scores(affinity, labels):
    """Per task, the mean affinity onto it from the other members of its group."""
    n = affinity.shape[0]
    scores = np.zeros(n)
    for j in range(n):
        others = [i for i in range(n) if labels[i] == labels[j] and i != j]
        if others:
            scores[j] = affinity[others, j].mean()
    return scores


def _subset_scores(affinity):
    """Score of every subset of the tasks (bit ``t`` of the index: task ``t`` is
    in it), computed for all ``2**n`` subsets at once."""
    n = affinity.shape[0]
    masks = np.arange(1 << n)
    members = ((masks[:, None] >> np.arange(n)) & 1).astype(np.float64)  # (2**n, n)
    size = members.sum(axis=1)
    # incoming[S, j] = sum over i in S of affinity[i, j] (the diagonal is 0)
    incoming = members @ affinity
    with np.errstate(invalid="ignore", divide="ignore"):
        per_task = np.where(size[:, None] > 1, incoming / np.maximum(size - 1, 1)[:, None], 0.0)
    return (per_task * members).sum(axis=1)


def _exact(affinity, max_groups):
    """The best partition into at most ``max_groups`` groups, by dynamic
    programming over subsets: ``best[k][S]`` is the best score of ``S`` split
    into exactly ``k + 1`` groups, built from the group holding the lowest task
    of ``S`` and the best split of the rest. Ties go to fewer groups."""
    n = affinity.shape[0]
    full = (1 << n) - 1
    score = _subset_scores(affinity)
    best = np.full((max_groups, 1 << n), -np.inf)
    best[0] = score
    choice = np.zeros((max_groups, 1 << n), dtype=np.int64)
    choice[0] = np.arange(1 << n)
    if max_groups > 1:
        for S in range(1, full + 1):
            low = S & -S
            rest_bits = [b for b in range(n) if (S >> b) & 1 and (1 << b) != low]
            m = len(rest_bits)
            if m == 0:
                continue
            patterns = np.arange(1 << m)
            picked = ((patterns[:, None] >> np.arange(m)) & 1) @ (1 << np.array(rest_bits))
            groups = low | picked
            groups = groups[groups != S]  # a proper part: the rest is not empty
            rest = S ^ groups
            # best[k][S] = max over G of score[G] + best[k - 1][S \ G]
            candidates = score[groups][None, :] + best[:-1, rest]
            where = np.argmax(candidates, axis=1)
            best[1:, S] = candidates[np.arange(max_groups - 1), where]
            choice[1:, S] = groups[where]
    totals = best[:, full]
    top = np.max(totals)
    k = int(np.flatnonzero(totals >= top - 1e-12 * max(1.0, abs(top)))[0])
    labels = np.empty(n, dtype=np.int64)
    S, group = full, 0
    while S:
        G = int(choice[k, S])
        for t in range(n):
            if (G >> t) & 1:
                labels[t] = group
        S ^= G
        group += 1
        k -= 1
    return labels


def _total(affinity, labels):
    return float(_task_scores(affinity, labels).sum())


def _heuristic(affinity, max_groups):
    """Greedy merges, then single-task moves, until nothing improves.

    Starts from one group per task and repeatedly merges the two groups whose
    union raises the total score most (while there are more than
    ``max_groups`` groups, the merge that lowers it least); then moves single
    tasks to another group, or out on their own while fewer than
    ``max_groups`` groups exist, as long as a move raises the total.
    """
    n = affinity.shape[0]
    labels = np.arange(n)
    while True:
        groups = np.unique(labels)
        current = _total(affinity, labels)
        best_gain, best_pair = -np.inf, None
        for a_index, a in enumerate(groups):
            for b in groups[a_index + 1:]:
                trial = np.where(labels == b, a, labels)
                gain = _total(affinity, trial) - current
                if gain > best_gain + 1e-15:
                    best_gain, best_pair = gain, (a, b)
        if best_pair is None or (best_gain <= 0 and len(groups) <= max_groups):
            break
        a, b = best_pair
        labels = np.where(labels == b, a, labels)
    improved = True
    while improved:
        improved = False
        current = _total(affinity, labels)
        for t in range(n):
            groups = list(np.unique(labels))
            targets = [g for g in groups if g != labels[t]]
            alone = np.sum(labels == labels[t]) == 1
            if len(groups) < max_groups and not alone:
                targets.append(max(groups) + 1)  # a group of its own
            for g in targets:
                trial = labels.copy()
                trial[t] = g
                value = _total(affinity, trial)
                if value > current + 1e-12 * max(1.0, abs(current)):
                    labels, current, improved = trial, value, True
                    break
    return labels


def suggest_task_groups(affinity, *, max_groups=None, task_names=None):
    """The partition of the tasks that maximises the affinity inside groups.

    Scores a partition as Fifty et al. (2021) score task groupings: each
    task's score is the mean affinity onto it from the other members of its
    group (0 for a task alone), and the partition's score is the sum over
    tasks. The partition with the highest score among those of at most
    ``max_groups`` groups is returned; among partitions that score the same,
    the one with the fewest groups. A task joins others when they help it on
    average more than they hurt it, so that tasks with negative affinity are
    split apart (single-task groups are allowed). A task that neither helps
    nor is helped (affinity 0, or NaN, both ways) is left alone when joining
    would dilute the help the members of a group give each other; where
    there is nothing to gain either way (every pair 0 or never measured),
    the tie goes to fewer groups: the tasks stay in one group, the one
    network they would share without advice. A matrix with no measured pair
    at all (NaN everywhere off the diagonal) gives one group and a warning:
    there is no evidence to split on.

    Up to ``EXACT_MAX_TASKS`` (12) tasks the search is exact (dynamic
    programming over the subsets of tasks, ``3**n_tasks`` steps, under a
    second at 12 tasks). Above, a heuristic: from one group per task, greedy
    merges of the two groups whose union raises the score most, then single
    tasks moved between groups while that raises it. The heuristic finds a
    partition no single merge or move improves, not always the best one.

    Parameters
    ----------
    affinity : array-like of shape (n_tasks, n_tasks)
        ``affinity[i, j]``: how much training task ``i`` helps task ``j``
        (row: the task stepped on; column: the task affected), such as
        ``MultiTaskClassifier(affinity_every=...).task_affinity_``. The
        diagonal is ignored; NaN (a pair never measured) counts as 0. Only
        the ordering of scores matters: multiplying the matrix by a positive
        number changes nothing.
    max_groups : int, default=None
        Most groups allowed; None: as many as tasks.
    task_names : sequence of str, default=None
        Names of the tasks, in the order of the matrix; the groups are then
        lists of names, else of indices.

    Returns
    -------
    grouping : TaskGrouping
        ``groups``, their ``group_scores``, the ``task_scores`` and the total
        ``score``; prints as a short table.

    See Also
    --------
    plot_task_affinity : The matrix with the chosen groups.
    GroupedMultiTaskClassifier : One network per group, ``groups="auto"``.

    References
    ----------
    Fifty, C., Amid, E., Zhao, Z., Yu, T., Anil, R. & Finn, C. (2021).
    Efficiently identifying task groupings for multi-task learning. NeurIPS.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mtl.grouping import suggest_task_groups
    >>> affinity = np.array([[0.0, 0.3, -0.2],
    ...                      [0.2, 0.0, -0.1],
    ...                      [-0.1, -0.3, 0.0]])
    >>> grouping = suggest_task_groups(affinity, task_names=["a", "b", "c"])
    >>> grouping.groups
    [['a', 'b'], ['c']]
    >>> float(grouping.score)
    0.5
    """
    affinity, raw = _check_affinity(affinity), _as_matrix(affinity)
    n = affinity.shape[0]
    if n > 1 and np.isnan(raw[~np.eye(n, dtype=bool)]).all():
        warnings.warn(
            "affinity holds no measured pair (NaN everywhere off the diagonal): "
            "there is no evidence to split the tasks on, so they stay in one group. "
            "Measure affinity on a longer fit (more max_iter, or affinity_every=1), "
            "with rows that label several tasks.",
            UserWarning,
            stacklevel=2,
        )
    if max_groups is None:
        max_groups = n
    if isinstance(max_groups, bool) or not isinstance(max_groups, numbers.Integral) \
            or max_groups < 1:
        raise ValueError(f"max_groups must be a positive integer or None; got {max_groups!r}.")
    max_groups = min(int(max_groups), n)
    if task_names is None:
        names = list(range(n))
    else:
        names = [str(t) for t in task_names]
        if len(names) != n:
            raise ValueError(
                f"task_names has {len(names)} names but affinity is {n} x {n}."
            )
    if n <= EXACT_MAX_TASKS:
        labels, method = _exact(affinity, max_groups), "exact"
    else:
        labels, method = _heuristic(affinity, max_groups), "heuristic"
    task_scores = _task_scores(affinity, labels)
    order = []  # groups by their first task
    for t in range(n):
        if labels[t] not in order:
            order.append(labels[t])
    groups = [[names[t] for t in range(n) if labels[t] == g] for g in order]
    group_scores = np.array([task_scores[labels == g].sum() for g in order])
    return TaskGrouping(
        groups=groups,
        group_scores=group_scores,
        task_scores=task_scores,
        score=float(task_scores.sum()),
        method=method,
        affinity=raw,
        task_names=names,
    )


def plot_task_affinity(affinity, groups=None, task_names=None, ax=None):
    """Heat map of an affinity matrix, with the tasks of each group outlined.

    Parameters
    ----------
    affinity : array-like of shape (n_tasks, n_tasks), TaskGrouping or fitted estimator
        The matrix (row: the task stepped on; column: the task affected); a
        :class:`TaskGrouping` (its matrix and groups), or an estimator with
        ``task_affinity_`` (its matrix and ``task_names_``). The diagonal
        (self-affinity) is left blank: its scale would swamp the colours.
    groups : list of list, default=None
        Groups of task names or indices to outline; rows and columns are
        reordered so that each group's tasks are adjacent.
    task_names : sequence of str, default=None
        Labels of the rows and columns.
    ax : matplotlib Axes, default=None
        Where to draw; a new figure when None.

    Returns
    -------
    ax : matplotlib Axes
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    if isinstance(affinity, TaskGrouping):
        groups = affinity.groups if groups is None else groups
        task_names = affinity.task_names if task_names is None else task_names
        affinity = affinity.affinity
    elif hasattr(affinity, "task_affinity_"):
        task_names = list(affinity.task_names_) if task_names is None else task_names
        affinity = affinity.task_affinity_
    matrix = _as_matrix(affinity)
    n = matrix.shape[0]
    names = [str(t) for t in (range(n) if task_names is None else task_names)]
    order = list(range(n))
    if groups is not None:
        index = {name: t for t, name in enumerate(names)}
        order = [t if isinstance(t, numbers.Integral) else index[str(t)]
                 for group in groups for t in group]
    shown = matrix[np.ix_(order, order)]
    np.fill_diagonal(shown, np.nan)
    limit = np.nanmax(np.abs(shown)) if np.isfinite(shown).any() else 1.0
    if ax is None:
        _, ax = plt.subplots(figsize=(0.55 * n + 2.5, 0.55 * n + 1.8))
    image = ax.imshow(shown, cmap="RdBu", vmin=-limit, vmax=limit)
    ax.figure.colorbar(image, ax=ax, label="affinity (row helps column)")
    labels = [names[t] for t in order]
    ax.set_xticks(range(n), labels, rotation=45, ha="right")
    ax.set_yticks(range(n), labels)
    ax.set_xlabel("task whose loss changes")
    ax.set_ylabel("task stepped on")
    if groups is not None:
        start = 0
        for group in groups:
            size = len(group)
            ax.add_patch(Rectangle((start - 0.5, start - 0.5), size, size, fill=False,
                                   edgecolor="black", linewidth=2))
            start += size
    return ax
