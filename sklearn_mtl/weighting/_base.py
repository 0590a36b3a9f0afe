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

    Loss-based strategies only need ``losses``; gradient-based ones derive
    from :class:`GramWeighting`, which does everything but map a Gram matrix
    to weights.

    Parameters are declared in ``_parameter_constraints`` (scikit-learn's
    constraint objects) and validated by :meth:`setup`, once for every
    strategy; a strategy's own fitted state is made in :meth:`_init_state`.
    """

    _parameter_constraints: dict = {}

    #: Whether :meth:`backward` works on each task's gradient of the shared
    #: parameters (their norms, Gram matrix, projections), not only on a
    #: weighted sum of the losses. Such a strategy needs the whole batch in
    #: one process: data-parallel training (several processes, see
    #: :mod:`sklearn_mtl._distributed`) refuses it. A strategy of your own
    #: that calls ``torch.autograd.grad`` per task must set it to True.
    per_task_gradients = False

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
        self._validate_params()
        self.n_tasks_ = n_tasks
        self.task_weights_ = task_weights
        self._init_state(n_tasks, device)
        return self

    def set_task_weights(self, task_weights):
        """Replace the static weights of a prepared strategy (a fit that
        continues with ``warm_start`` and new ``task_weights``); the strategy's
        other state is kept.

        Parameters
        ----------
        task_weights : array-like of shape (n_tasks,)
            The user's static weights.

        Returns
        -------
        self : BaseWeighting
        """
        self.task_weights_ = torch.as_tensor(
            task_weights, dtype=torch.float32, device=self.task_weights_.device
        )
        return self

    def _init_state(self, n_tasks, device):
        """Create the strategy's fitted state (parameters already validated)."""

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


class GramWeighting(BaseWeighting):
    """Base class of the strategies that combine the tasks' gradients of the
    shared parameters (MGDA, IMTL-G, PCGrad, CAGrad, Aligned-MTL).

    The base does the work they share, once; a strategy only implements
    :meth:`gram_weights`, a map from the ``k x k`` Gram matrix of the
    gradients of the ``k`` tasks taking part to their weights (the design of
    torchjd's Gramian-based aggregators, Quinton & Rey, 2024). For every
    batch :meth:`backward`

    1. takes the tasks taking part: present in the batch and of
       ``task_weights > 0`` (the others get weight 0 and no gradient);
    2. computes their gradients ``g_t`` of the shared parameters (one
       backward pass each) and the Gram matrix ``G = [g_s . g_t]``, in
       float64;
    3. asks :meth:`gram_weights` for the weights ``w`` (given ``G``, the
       prior ``p`` = the tasks' ``task_weights`` and their losses);
    4. steps the shared parameters along ``d = sum_t w_t g_t``;
    5. gives the task-specific parameters (heads, gates, task experts) the
       gradient of ``sum_t p_t L_t``.

    Three conventions hold for every gradient strategy:

    * **Heads.** Task-specific parameters get the gradient of
      ``sum_t p_t L_t``, never the solved weights: each head follows its own
      loss with weight ``p_t``, as in the papers' algorithms (Sener & Koltun,
      2018, Alg. 2; Liu et al., 2021) and in LibMTL. Solved weights can be
      negative (IMTL-G, Aligned-MTL) or near 0 (MGDA), which would make a
      head climb its loss or stop training.
    * **Scale.** The shared step is on the scale of static weighting (the sum
      of the task losses): when every task taking part has weight 1 and the
      same gradient ``g``, ``d = k g`` (for CAGrad, ``k (1 + c) g`` divided
      by its ``rescale`` factor). Methods whose papers give a convex
      combination (MGDA, IMTL-G, CAGrad's mean ``g0``) are multiplied by
      ``k``; this changes nothing under Adam, which is invariant to the scale.
    * **task_weights.** They scale the task losses, ``L_t -> p_t L_t``,
      before the method sees them (MGDA, PCGrad, CAGrad). IMTL-G and
      Aligned-MTL are invariant to loss scales by design, so there
      ``task_weights`` are the method's preference vector instead: the
      projections of ``d`` on the unit gradients are in ratio ``p``
      (IMTL-G), or ``p`` weighs the aligned gradients (Aligned-MTL, as in
      its paper).

    The returned weights are those of the raw gradients in the shared step,
    ``d = sum_t w_t grad(L_t)``.

    References
    ----------
    .. [1] P. Quinton and V. Rey, "Jacobian descent for multi-objective
       optimization", arXiv:2406.16232, 2024.
    """

    #: machine epsilon of the gradients' dtype (the Gram matrix is float64
    #: whatever their precision), set before each call of :meth:`gram_weights`
    _precision = torch.finfo(torch.float32).eps

    per_task_gradients = True

    def gram_weights(self, gram, prior, losses):
        """Weights of the raw task gradients in the shared step.

        Parameters
        ----------
        gram : Tensor of shape (k, k), float64, on the CPU
            Gram matrix of the gradients of the ``k`` tasks taking part.
        prior : Tensor of shape (k,), float64
            Their ``task_weights`` (all > 0).
        losses : Tensor of shape (k,), float64
            Their losses on the batch (detached).

        Returns
        -------
        weights : Tensor of shape (k,), float64
        """
        raise NotImplementedError

    def backward(self, losses, present, shared_parameters, specific_parameters):
        """Step the shared parameters along the strategy's combination of the
        task gradients; the heads along ``sum_t task_weights[t] * loss_t``."""
        prior = self.task_weights_ * present
        taking_part = prior > 0
        grads = self.task_gradients(losses, taking_part, shared_parameters)
        weights = torch.zeros_like(prior)
        tasks = torch.nonzero(taking_part).flatten()
        if len(tasks):
            self._precision = torch.finfo(grads.dtype).eps  # of the gradients
            sub = grads[tasks].double()
            gram = (sub @ sub.T).cpu()
            solved = self.gram_weights(
                gram, prior[tasks].detach().double().cpu(),
                losses[tasks].detach().double().cpu(),
            )
            weights[tasks] = solved.to(weights)
        direction = weights.to(grads) @ grads
        self.apply(prior, losses, direction, shared_parameters, specific_parameters)
        return weights.detach()
