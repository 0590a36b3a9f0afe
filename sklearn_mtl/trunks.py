"""Feature extractors that run before the shared hidden layers.

A trunk object is a clonable scikit-learn-style description (parameters in
``__init__``, grid-searchable as ``trunk__<name>``); :meth:`BaseTrunk.build`
makes the torch module at fit time. The estimator's network is

    X -> trunk (feature extractor) -> hidden_layer_sizes -> architecture -> heads

and ``trunk=None`` (or ``"mlp"``) means no extractor: the hidden layers read
``X`` directly. :data:`TRUNKS` maps the names ``trunk=`` accepts to classes.
"""

import inspect
import math
import numbers

import torch
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval, InvalidParameterError
from torch import nn

from ._constraints import Sizes, as_sizes
from .modules import ConvFeatures

__all__ = ["TRUNKS", "BaseTrunk", "ConvTrunk", "MLPTrunk", "TorchTrunk"]


class BaseTrunk(BaseEstimator):
    """Base class of trunks: :meth:`build` returns an ``nn.Module`` that maps a
    float batch ``(n, n_features)`` to ``(n, out_features)`` and has an
    ``out_features`` attribute.

    A subclass stores its parameters in ``__init__``, declares their
    constraints in ``_parameter_constraints`` (scikit-learn's
    ``sklearn.utils._param_validation`` idiom) and implements
    ``_build(n_features, input_shape)``; :meth:`build` validates the
    parameters first.
    """

    _parameter_constraints: dict = {}
    #: whether the network still reads the columns of X as numerical features
    #: (False: pixels, or whatever a custom module reads)
    reads_features = False

    def build(self, n_features, input_shape):
        """Validate the parameters and make the torch module.

        Subclasses implement ``_build`` with the same arguments; an invalid
        parameter raises scikit-learn's ``InvalidParameterError`` (a
        ``ValueError``) naming the trunk and the parameter.

        Parameters
        ----------
        n_features : int
            Width of the rows of ``X``.
        input_shape : tuple of int or None
            ``(channels, height, width)`` with ``-1`` resolved, when the
            estimator's ``input_shape`` is set.

        Returns
        -------
        module : nn.Module
            With an integer ``out_features`` attribute.
        """
        self._validate_params()
        module = self._build(n_features, input_shape)
        if not isinstance(module, nn.Module) or not isinstance(
            getattr(module, "out_features", None), numbers.Integral
        ):
            raise TypeError(
                f"{type(self).__name__}._build must return a torch nn.Module with an "
                f"integer out_features attribute; got {type(module).__name__}."
            )
        return module

    def _build(self, n_features, input_shape):
        """Make the module of :meth:`build` from validated parameters."""
        raise NotImplementedError(
            f"{type(self).__name__} must implement _build(n_features, input_shape)."
        )


class MLPTrunk(BaseTrunk):
    """No feature extractor (``trunk="mlp"``, the same as ``trunk=None``): the
    shared hidden layers read the columns of ``X`` as numerical features."""

    #: the columns of X reach the network as features (numerical embeddings
    #: apply; an image shape means nothing)
    reads_features = True

    def build(self, n_features, input_shape):
        """No module: returns None.

        Parameters
        ----------
        n_features : int
            Width of the rows of ``X`` (unused).
        input_shape : tuple of int or None
            Unused.

        Returns
        -------
        None
        """
        self._validate_params()
        return None


def resolve_input_shape(input_shape, n_features):
    """Fill in the one ``-1`` of ``input_shape`` so that it holds ``n_features``."""
    if input_shape is None:
        return None
    shape = list(input_shape)
    if len(shape) != 3 or any(isinstance(d, bool) or not isinstance(d, int) for d in shape):
        raise ValueError(
            f"input_shape must be (channels, height, width) of integers; got {input_shape!r}."
        )
    unknown = [i for i, d in enumerate(shape) if d == -1]
    if len(unknown) > 1 or any(d == 0 or d < -1 for d in shape):
        raise ValueError(
            f"input_shape {tuple(input_shape)}: give positive sizes, with at most one -1 "
            "to be inferred."
        )
    known = math.prod(d for d in shape if d != -1)
    if unknown:
        if n_features % known:
            raise ValueError(
                f"input_shape {tuple(input_shape)} cannot hold {n_features} features: "
                f"{n_features} is not a multiple of {known}."
            )
        shape[unknown[0]] = n_features // known
    if math.prod(shape) != n_features:
        raise ValueError(
            f"input_shape {tuple(shape)} holds {math.prod(shape)} values but X has "
            f"{n_features} features."
        )
    return tuple(shape)


class ConvTrunk(BaseTrunk):
    """Convolutional feature extractor for images given as flattened rows.

    ``X`` stays 2-D as scikit-learn requires; each row is reshaped to the
    estimator's ``input_shape`` ``(channels, height, width)``. Without
    ``input_shape``, a row of ``k * k`` features is read as one ``k x k``
    channel (64 features -> 8x8, 784 -> 28x28). Each block is a ``kernel_size``
    convolution, optional batch norm, ReLU and a 2x2 max-pool (while the image
    is at least 2x2), so the same sizes suit 8x8 to 36x36 images.

    Parameters
    ----------
    channels : tuple of int, default=(32, 64)
        Output channels of each convolutional block.
    kernel_size : int, default=3
        Side of the square kernels (odd sizes keep the image size).
    batch_norm : bool, default=False
        Whether to normalise each block.
    """

    _parameter_constraints: dict = {
        "channels": [Sizes()],
        "kernel_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "batch_norm": ["boolean"],
    }

    def __init__(self, channels=(32, 64), kernel_size=3, batch_norm=False):
        self.channels = channels
        self.kernel_size = kernel_size
        self.batch_norm = batch_norm

    def _build(self, n_features, input_shape):
        if input_shape is None:
            side = math.isqrt(n_features)
            if side * side != n_features:
                raise ValueError(
                    f"ConvTrunk: X has {n_features} features, which is not a square image; "
                    "set input_shape=(channels, height, width) on the estimator (one "
                    "dimension may be -1)."
                )
            input_shape = (1, side, side)
        return ConvFeatures(input_shape, as_sizes(self.channels), int(self.kernel_size),
                            bool(self.batch_norm))


class _Reshaped(nn.Module):
    """A user module with ``out_features``, fed images when ``input_shape`` is set."""

    def __init__(self, module, out_features, input_shape):
        super().__init__()
        self.module = module
        self.out_features = out_features
        self.input_shape = input_shape

    def forward(self, x):
        if self.input_shape is not None:
            x = x.reshape(x.shape[0], *self.input_shape)
        return self.module(x).flatten(1)


class TorchTrunk(BaseTrunk):
    """Any torch module (class or factory) as the feature extractor.

    Its constructor arguments are parameters of this object, so they can be set
    and grid-searched through the estimator as ``trunk__<argument>``::

        MultiTaskClassifier(trunk=TorchTrunk(MyNet, width=128))
        GridSearchCV(clf, {"trunk__width": [64, 128]})

    If the constructor takes ``n_features`` or ``input_shape`` and they are not
    given, they are filled in at fit time. The module receives rows
    ``(n, n_features)``, or images ``(n, *input_shape)`` when the estimator's
    ``input_shape`` is set, and must return ``(n, d)`` (or anything that
    flattens to it); ``d`` is read from an ``out_features`` attribute or found by
    a forward pass on two zero rows.

    Parameters
    ----------
    module : type or callable
        An ``nn.Module`` subclass or a function returning a module (not a
        module instance: the trunk makes a new one at every fit).
    **module_params
        Arguments for ``module``; free-form, so only ``module`` is validated.
    """

    _parameter_constraints: dict = {"module": [callable]}

    def __init__(self, module, **module_params):
        self.module = module
        self.module_params = module_params

    def get_params(self, deep=True):
        return {"module": self.module, **self.module_params}

    def set_params(self, **params):
        for key, value in params.items():
            if key == "module":
                self.module = value
            else:
                self.module_params[key] = value
        return self

    def __repr__(self, N_CHAR_MAX=700):
        name = getattr(self.module, "__name__", repr(self.module))
        args = "".join(f", {k}={v!r}" for k, v in self.module_params.items())
        return f"TorchTrunk({name}{args})"

    def _build(self, n_features, input_shape):
        if isinstance(self.module, nn.Module):
            # callable, but calling it would run its forward pass
            raise InvalidParameterError(
                f"The 'module' parameter of TorchTrunk must be an nn.Module class or a "
                f"function returning one, not a module instance; got an instance of "
                f"{type(self.module).__name__}. Pass the class and its arguments: "
                f"TorchTrunk({type(self.module).__name__}, <argument>=...)."
            )
        kwargs = dict(self.module_params)
        try:
            accepted = inspect.signature(self.module).parameters
        except (TypeError, ValueError):
            accepted = {}
        if "n_features" in accepted:
            kwargs.setdefault("n_features", n_features)
        if "input_shape" in accepted and input_shape is not None:
            kwargs.setdefault("input_shape", input_shape)
        module = self.module(**kwargs)
        if not isinstance(module, nn.Module):
            raise TypeError(
                f"TorchTrunk: {self.module!r} returned {type(module).__name__}, not a "
                "torch nn.Module."
            )
        wrapped = _Reshaped(module, None, input_shape)
        out_features = getattr(module, "out_features", None)
        if not isinstance(out_features, int):
            was_training = module.training
            module.eval()
            with torch.no_grad():
                out = wrapped(torch.zeros(2, n_features))
            module.train(was_training)
            out_features = int(out.shape[1])
        wrapped.out_features = out_features
        return wrapped


#: The names ``trunk=`` accepts: name -> trunk class (``"mlp"``: no feature
#: extractor, the shared hidden layers read ``X``, as with ``trunk=None``). The
#: one place a new trunk is registered.
TRUNKS = {"mlp": MLPTrunk, "conv": ConvTrunk}
