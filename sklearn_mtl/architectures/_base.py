"""What an architecture is to the estimator."""

import numbers

from sklearn.base import BaseEstimator
from torch import nn

from ..modules import TaskHeads


class BaseArchitecture(BaseEstimator):
    """A clonable description of how tasks share the trunk's representation.

    Parameters live in ``__init__`` (so ``architecture__n_experts`` works in
    ``GridSearchCV``) and are declared in ``_parameter_constraints``, as in
    scikit-learn; :meth:`build` validates them and makes the torch block at
    fit time, :meth:`build_heads` the heads that read it.

    A subclass stores its parameters in ``__init__``, declares their
    constraints and implements ``_build``::

        class Bottleneck(BaseArchitecture):
            _parameter_constraints = {"width": [Interval(Integral, 1, None, closed="left")]}

            def __init__(self, width=16):
                self.width = width

            def _build(self, in_features, n_tasks, *, activation):
                return MyBlock(in_features, n_tasks, self.width)
    """

    _parameter_constraints: dict = {}

    def build(self, in_features, n_tasks, *, activation="relu"):
        """Validate the parameters and make the torch block.

        Subclasses implement ``_build`` with the same arguments; this method
        validates ``_parameter_constraints`` first (a
        ``sklearn.utils._param_validation.InvalidParameterError``, a
        ``ValueError``, names the object and the parameter) and checks that
        the block keeps the contract below.

        Parameters
        ----------
        in_features : int
            Width of the shared representation ``z`` (the output of the
            trunk and the shared hidden layers).
        n_tasks : int
        activation : str
            The estimator's ``activation``, for any hidden layers of the
            block (the experts of :class:`MMoE` and :class:`PLE`), so that
            one activation holds for the whole network.

        Returns
        -------
        block : nn.Module
            Its ``forward`` maps ``z`` of shape ``(n, in_features)`` to a list
            of ``n_tasks`` tensors ``(n, out_features)``, one per task. It has

            * ``out_features``: int, the width each task reads;
            * ``shared_parameters()``: the block's parameters that every
              task's loss depends on (the shared experts and gates of a
              mixture of experts), an iterable that is empty when the block
              owns none. Gradient-based weighting strategies combine the
              tasks' gradients on these and on the trunk's parameters; every
              other parameter is trained by the plain weighted sum of the
              losses.
        """
        self._validate_params()
        block = self._build(in_features, n_tasks, activation=activation)
        name = type(self).__name__
        if not isinstance(block, nn.Module):
            raise TypeError(
                f"{name}._build returned {type(block).__name__}, not a torch nn.Module."
            )
        if not callable(getattr(block, "shared_parameters", None)):
            raise TypeError(
                f"{name}._build returned a {type(block).__name__}, which has no "
                "shared_parameters() method: a block must return the parameters every "
                "task depends on (an empty list when it owns none); see "
                "BaseArchitecture.build."
            )
        if not isinstance(getattr(block, "out_features", None), numbers.Integral):
            raise TypeError(
                f"{name}._build returned a {type(block).__name__} without an integer "
                "out_features attribute (the width each task reads)."
            )
        return block

    def _build(self, in_features, n_tasks, *, activation):
        """Make the block of :meth:`build` from validated parameters."""
        raise NotImplementedError(
            f"{type(self).__name__} must implement _build(in_features, n_tasks, *, activation)."
        )

    def build_heads(self, in_features, n_classes, *, hidden_layer_sizes=(), activation="relu",
                    dropout=0.0):
        """Make the heads that read the block's task representations.

        The default is one :class:`~sklearn_mtl.modules.TaskHeads` head per
        task; an architecture whose tasks all read one representation can
        return something cheaper (:class:`HardSharing` fuses the linear heads).

        Parameters
        ----------
        in_features : int
            The block's ``out_features``.
        n_classes : sequence of int
            Number of classes of each task.
        hidden_layer_sizes : sequence of int
            The estimator's ``head_hidden_layer_sizes``.
        activation : str
        dropout : float
            The estimator's ``activation`` and ``dropout``.

        Returns
        -------
        heads : nn.Module
            Maps the block's list of task representations to concatenated
            logits ``(n, sum(n_classes))``, with an ``n_classes`` attribute.
        """
        return TaskHeads(in_features, n_classes, hidden_layer_sizes, activation, dropout)
