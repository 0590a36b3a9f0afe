"""Aligned-MTL: aligning the principal components of the task gradients."""

import torch

from ._base import BaseWeighting


class AlignedMTL(BaseWeighting):
    """Align the task gradients into an orthogonal, equal-norm system
    (Aligned-MTL).

    With ``G`` the ``T x P`` matrix of task gradients and the eigen-decomposition
    ``G G^T = V Lambda V^T``, the balance matrix
    ``B = sqrt(lambda_min) V Lambda^{-1/2} V^T`` makes the rows of ``B G``
    orthogonal with the norm of the smallest singular value of ``G`` (the
    condition number of the system becomes 1). The shared parameters step
    along ``sum_t prior[t] (B G)_t = G^T w`` with ``w = B prior``. Eigenvalues
    below ``lambda_max * T * eps`` (linearly dependent gradients) are dropped,
    and ``lambda_min`` is the smallest one kept. Costs one backward pass per
    present task plus the Gram matrix and a ``T x T`` eigen-decomposition.

    Notes
    -----
    ``task_weights_`` are the prior: the weights of the aligned gradients
    (the paper's uniform prior when they are all 1). Task-specific parameters
    get the gradient of ``sum_t task_weights[t] * loss_t``: the aligned
    weights ``w`` can be negative, which would make a head climb its loss.
    The returned weights are ``w``, those of the shared step. The
    decomposition is over the tasks present in the batch (and of weight
    > 0); the others get weight 0.

    References
    ----------
    .. [1] Senushkin, D., Patakin, N., Kuznetsov, A. & Konushin, A. (2023).
       Independent component alignment for multi-task learning. Proceedings of
       the IEEE/CVF Conference on Computer Vision and Pattern Recognition
       (CVPR).
    """


    def backward(self, losses, present, shared_parameters, specific_parameters):
        """Step the shared parameters along the sum of the aligned gradients."""
        prior = self.task_weights_ * present
        tasks = torch.nonzero(prior > 0).flatten()
        grads = self.task_gradients(losses, prior > 0, shared_parameters)
        weights = torch.zeros_like(prior)
        if len(tasks):
            sub = grads[tasks]
            values, vectors = torch.linalg.eigh((sub @ sub.T).double().cpu())  # ascending
            keep = values > values[-1] * len(tasks) * torch.finfo(grads.dtype).eps
            values, vectors = values[keep], vectors[:, keep]
            if len(values):  # else every gradient is 0: no step
                balance = values[0].sqrt() * (vectors / values.sqrt()) @ vectors.T
                weights[tasks] = (balance @ prior[tasks].double().cpu()).to(weights)
        direction = weights.to(grads) @ grads
        self.apply(prior, losses, direction, shared_parameters, specific_parameters)
        return weights.detach()
