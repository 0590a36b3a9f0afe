"""The linear path's starting point: one L2-regularised multinomial logistic
regression per task, fitted on the training rows before the network trains."""

import torch

from ._loss import task_losses


def fit_linear_path(path, X, codes, split_sizes, class_weights=None, sample_weight=None,
                    max_iter=100):
    """Set ``path`` (a :class:`~sklearn_mtl.modules._embeddings.LinearPath`) to
    the per-task logistic regressions of ``codes`` on ``X``.

    Minimises ``sum_t [L_t(V_t x + c_t) + ||V_t||^2 / (2 n_t)]`` with L-BFGS
    (``||V_t||^2 / n_t`` for a binary task),
    where ``L_t`` is task ``t``'s weighted mean cross-entropy over its
    labelled rows and ``n_t`` the sum of their weights (the number of rows
    without weights): for each task, the objective of scikit-learn's
    ``LogisticRegression(C=1)`` on those rows divided by ``n_t`` (for a
    binary task, its one coefficient vector is ``V_t1 - V_t0``).
    The tasks share no parameter, so this is one regression per task, solved
    at once. Missing labels (``-1``) are left out of their task.

    Parameters
    ----------
    path : LinearPath
    X : Tensor of shape (n, n_features)
        The scaled training rows (what the path reads).
    codes : LongTensor of shape (n, n_tasks)
    split_sizes : list of int
    class_weights : list of (Tensor or None), optional
    sample_weight : Tensor of shape (n,), optional
    max_iter : int
        L-BFGS iterations.
    """
    # scikit-learn's binary regression has one vector w = V_1 - V_0 and the
    # penalty ||w||^2 / 2. At the optimum V_0 = -V_1 = -w / 2, so that penalty is
    # 1 * (||V_0||^2 + ||V_1||^2): twice the multinomial strength of 1/2
    strength = torch.tensor([1.0 if k == 2 else 0.5 for k in split_sizes for _ in range(k)],
                            device=X.device)
    task_of_row = torch.repeat_interleave(
        torch.arange(len(split_sizes), device=X.device),
        torch.as_tensor(list(split_sizes), device=X.device))
    optimizer = torch.optim.LBFGS(
        path.parameters(), lr=1.0, max_iter=max_iter, line_search_fn="strong_wolfe",
        tolerance_grad=1e-6, tolerance_change=1e-9,
    )

    def closure():
        optimizer.zero_grad()
        losses, totals = task_losses(path(X), codes, split_sizes, class_weights, sample_weight)
        l2 = strength / totals.clamp_min(1.0)[task_of_row]  # one per row of V
        loss = losses.sum() + (l2 * path.weight.pow(2).sum(dim=1)).sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        optimizer.step(closure)
    for p in path.parameters():  # a diverged solve must not start the network
        if not torch.isfinite(p).all():
            with torch.no_grad():
                p.zero_()

