"""Embeddings of numerical features, before the shared trunk.

An MLP reads each numerical feature through one weight per unit, so it cuts a
feature's range only where a ReLU kinks: a sharp threshold on one feature, or
a feature whose effect goes up and down, takes many units to learn. Embedding
each scalar feature as a vector first lets the first layer see where along its
range a value lies (Gorishniy, Rubachev & Babenko, 2022). Pass an object, or
its name, as ``MultiTaskClassifier(numerical_embedding=...)``; its parameters
are grid-searchable as ``numerical_embedding__<name>``.

:data:`EMBEDDINGS` maps the names ``numerical_embedding=`` accepts to classes.
"""

import numbers

from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval

from .modules._embeddings import (
    PeriodicEmbeddings,
    PiecewiseLinearEmbeddings,
    quantile_bin_edges,
)

__all__ = ["EMBEDDINGS", "BaseEmbedding", "PeriodicEmbedding", "PiecewiseLinearEmbedding"]


class BaseEmbedding(BaseEstimator):
    """Base class of numerical embeddings: :meth:`build` returns an
    ``nn.Module`` mapping ``(n, n_features)`` to ``(n, out_features)``, with an
    integer ``out_features`` attribute.

    A subclass stores its parameters in ``__init__``, declares them in
    ``_parameter_constraints`` and implements ``_build(X)``.
    """

    _parameter_constraints: dict = {}

    def build(self, X):
        """Validate the parameters and make the torch module.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features), float32
            The training rows as the embedding will read them (after the
            estimator's ``input_scaling``), for anything estimated from data
            (bin edges). Not modified.

        Returns
        -------
        module : nn.Module
        """
        self._validate_params()
        return self._build(X)

    def _build(self, X):
        raise NotImplementedError(f"{type(self).__name__} must implement _build(X).")


class PeriodicEmbedding(BaseEmbedding):
    """Periodic embeddings with a linear layer and a ReLU ("PLR").

    Each feature ``x_j`` becomes ``ReLU(W [cos(2 pi c_j x_j), sin(2 pi c_j
    x_j)] + b)``, with ``n_frequencies`` trainable frequencies ``c_j`` per
    feature drawn at first from ``N(0, sigma^2)``. Smooth in ``x``; ``sigma``
    sets how fast the embedding can vary along a feature's (scaled) range.

    Parameters
    ----------
    n_frequencies : int, default=16
        Frequencies per feature.
    sigma : float, default=0.1
        Standard deviation of the initial frequencies, in cycles per unit of
        the scaled feature.
    embedding_dim : int, default=16
        Width of each feature's embedding.
    lite : bool, default=True
        One linear layer shared by all features (TabM's "PLR(lite)"), rather
        than one per feature.

    References
    ----------
    Gorishniy, Y., Rubachev, I., & Babenko, A. (2022). On embeddings for
    numerical features in tabular deep learning. NeurIPS.

    Gorishniy, Y., Kotelnikov, A., & Babenko, A. (2025). TabM: Advancing
    tabular deep learning with parameter-efficient ensembling. ICLR.
    """

    _parameter_constraints = {
        "n_frequencies": [Interval(numbers.Integral, 1, None, closed="left")],
        "sigma": [Interval(numbers.Real, 0, None, closed="neither")],
        "embedding_dim": [Interval(numbers.Integral, 1, None, closed="left")],
        "lite": ["boolean"],
    }

    def __init__(self, n_frequencies=16, sigma=0.1, embedding_dim=16, lite=True):
        self.n_frequencies = n_frequencies
        self.sigma = sigma
        self.embedding_dim = embedding_dim
        self.lite = lite

    def _build(self, X):
        return PeriodicEmbeddings(X.shape[1], int(self.n_frequencies), float(self.sigma),
                                  int(self.embedding_dim), bool(self.lite))


class PiecewiseLinearEmbedding(BaseEmbedding):
    """Piecewise-linear encoding over quantile bins, then a linear layer per
    feature (beside a linear term of the value) and a ReLU ("PLE").

    Each feature's bin edges are the quantiles ``0, 1/n_bins, ..., 1`` of
    its training values, estimated once at the start of ``fit`` (after
    ``input_scaling``; repeated quantiles merge, so a binary feature has one
    bin). A value is encoded by one number per bin: 1 for the bins below it,
    its relative position within its own bin, 0 above (the first and last bins
    extend linearly beyond the training range), and then mapped by the
    feature's own linear layer, added to a linear function of the value
    itself; the bins' weights start at 0, so training begins from a plain
    per-feature embedding and uses the bins where they help. A threshold at a
    bin edge costs one weight.

    Parameters
    ----------
    n_bins : int, default=16
        Most bins per feature.
    embedding_dim : int, default=16
        Width of each feature's embedding.

    References
    ----------
    Gorishniy, Y., Rubachev, I., & Babenko, A. (2022). On embeddings for
    numerical features in tabular deep learning. NeurIPS.

    Gorishniy, Y., Kotelnikov, A., & Babenko, A. (2025). TabM: Advancing
    tabular deep learning with parameter-efficient ensembling. ICLR.
    """

    _parameter_constraints = {
        "n_bins": [Interval(numbers.Integral, 1, None, closed="left")],
        "embedding_dim": [Interval(numbers.Integral, 1, None, closed="left")],
    }

    def __init__(self, n_bins=16, embedding_dim=16):
        self.n_bins = n_bins
        self.embedding_dim = embedding_dim

    def _build(self, X):
        edges = quantile_bin_edges(X, int(self.n_bins))
        return PiecewiseLinearEmbeddings(edges, int(self.embedding_dim))


#: The embeddings ``numerical_embedding=<name>`` accepts: name -> class.
EMBEDDINGS = {"periodic": PeriodicEmbedding, "piecewise_linear": PiecewiseLinearEmbedding}
