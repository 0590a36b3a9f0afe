"""The contract every task-weighting strategy follows, and shared helpers."""

import torch
from sklearn.base import BaseEstimator


class BaseWeighting(BaseEstimator):
    """Base class of task-weighting strategies.

    A strategy turns the vector of task losses of a batch into gradients. It is
    a scikit-learn-style object: ``__init__`` only stores hyper-parameters, so
    it can be cloned and grid-searched (``weighting__<name>``). The network
    calls, in order:

    1. :meth:`setup` once before training (after the module is built), to
       create fitted state (names ending in ``_``);
    2. :meth:`parameters` once, to add learnable weighting parameters to the
       optimizer (without weight decay);
    3. :meth:`backward` for every batch: it must leave the gradients of all
       network parameters in their ``.grad`` and return the task weights it
       applied;
    4. :meth:`end_epoch` at the end of every epoch, with each task's mean
       training loss over the epoch.

    Every strategy receives the user's static ``task_weights`` and documents
    how it uses them. A task absent from a batch (``present[t]`` False: no
    labelled row) has a loss of exactly 0 and no gradient; a strategy must
    give it no weight and must not divide by, or take the log of, its loss.

    Loss-based strategies only need ``losses``; gradient-based ones use the
    helpers :meth:`task_gradients` and :meth:`apply` on the shared parameters.
    """

    def setup(self, n_tasks, task_weights, device):
        """Prepare for training.

        Parameters
        ----------
        n_tasks : int
            Number of tasks.
        task_weights : Tensor of shape (n_tasks,)
            The user's static weights (``task_weights``), on ``device``.
        device : torch.device
            Device the network trains on.

        Returns
        -------
        self : BaseWeighting
            The prepared strategy.
        """
        self.n_tasks_ = n_tasks
        self.task_weights_ = task_weights
        return self

    def parameters(self):
        """Learnable parameters of the strategy (trained by the network's
        optimizer, without weight decay); none by default."""
        return []

    def backward(self, losses, present, shared_parameters, specific_parameters):
        """Back-propagate a combination of the task losses.

        Parameters
        ----------
        losses : Tensor of shape (n_tasks,)
            Mean loss of each task over its labelled rows in the batch.
        present : BoolTensor of shape (n_tasks,)
            Whether the task has labelled rows in the batch.
        shared_parameters : list of Parameter
            Parameters every task depends on (the trunk's).
        specific_parameters : list of Parameter
            All other trainable parameters (heads, gates, ...).

        Returns
        -------
        weights : Tensor of shape (n_tasks,)
            The weights applied to the task losses (detached).
        """
        raise NotImplementedError

    def end_epoch(self, epoch_losses):
        """Hook called after every training epoch.

        Parameters
        ----------
        epoch_losses : ndarray of shape (n_tasks,)
            Each task's mean training loss over the epoch (NaN if unseen).
        """

    # ---------------------------------------------------------------- helpers
    @staticmethod
    def task_gradients(losses, present, shared_parameters):
        """Per-task gradients of the shared parameters, flattened.

        Returns
        -------
        grads : Tensor of shape (n_tasks, n_shared)
            Row ``t`` is ``d losses[t] / d shared``; zero for an absent task.
        """
        if not shared_parameters:
            raise ValueError(
                "This weighting strategy works on the gradients of the shared layers, but "
                "the network has none (hidden_layer_sizes=() and no trunk or shared "
                "experts). Add shared hidden layers, or use a loss-based strategy such as "
                "'static', 'uncertainty' or 'dwa'."
            )
        rows = []
        size = sum(p.numel() for p in shared_parameters)
        for t in range(losses.shape[0]):
            if not bool(present[t]):
                rows.append(losses.new_zeros(size))
                continue
            grads = torch.autograd.grad(
                losses[t], shared_parameters, retain_graph=True, allow_unused=True
            )
            rows.append(
                torch.cat(
                    [
                        (g if g is not None else torch.zeros_like(p)).reshape(-1)
                        for g, p in zip(grads, shared_parameters)
                    ]
                )
            )
        return torch.stack(rows)

    @staticmethod
    def apply(weights, losses, shared_direction, shared_parameters, specific_parameters):
        """Set the gradients: ``shared_direction`` on the shared parameters, and
        the gradient of ``sum_t weights[t] * losses[t]`` on the others.

        Parameters
        ----------
        weights : Tensor of shape (n_tasks,)
        losses : Tensor of shape (n_tasks,)
        shared_direction : Tensor of shape (n_shared,)
            The update direction of the shared parameters (a gradient: the
            optimizer steps against it).
        shared_parameters, specific_parameters : list of Parameter
        """
        if specific_parameters:
            torch.autograd.backward(
                (weights.detach() * losses).sum(), inputs=list(specific_parameters)
            )
        offset = 0
        for p in shared_parameters:
            n = p.numel()
            chunk = shared_direction[offset : offset + n].view_as(p).to(p.dtype)
            if p.grad is None:
                p.grad = chunk.clone()
            else:
                p.grad.add_(chunk)
            offset += n
