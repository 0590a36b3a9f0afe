"""The contract every task-weighting strategy follows."""

from sklearn.base import BaseEstimator


class BaseWeighting(BaseEstimator):
    """Base class of task-weighting strategies.

    A strategy is a scikit-learn-style object: its ``__init__`` only stores
    hyper-parameters, so it can be cloned and grid-searched. At the start of
    training the network calls :meth:`setup`; for every batch it calls
    :meth:`backward` with the vector of task losses and must leave the
    gradients of the network's parameters in their ``.grad`` fields.
    """

    def setup(self, task_weights, device):
        """Prepare for training.

        Parameters
        ----------
        task_weights : Tensor of shape (n_tasks,)
            The user's static weights (``task_weights``), on ``device``.
        device : torch.device
            Device the network trains on.

        Returns
        -------
        self : BaseWeighting
            The prepared strategy.
        """
        self.task_weights_ = task_weights
        return self

    def backward(self, losses, present):
        """Back-propagate a combination of the task losses.

        Parameters
        ----------
        losses : Tensor of shape (n_tasks,)
            Mean loss of each task over its labelled rows in the batch.
        present : BoolTensor of shape (n_tasks,)
            Whether the task has labelled rows in the batch; an absent task's
            loss is 0 and must not change the result.

        Returns
        -------
        weights : Tensor of shape (n_tasks,)
            The weights applied to the task losses (detached).
        """
        raise NotImplementedError
