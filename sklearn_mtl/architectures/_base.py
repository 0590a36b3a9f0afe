"""What an architecture is to the estimator."""

from sklearn.base import BaseEstimator


class BaseArchitecture(BaseEstimator):
    """A clonable description of how tasks share the trunk's representation.

    Parameters live in ``__init__`` (so ``architecture__n_experts`` works in
    ``GridSearchCV``); :meth:`build` makes the torch block at fit time.
    """

    def build(self, in_features, n_tasks):
        """Return an ``nn.Module`` mapping ``(n, in_features)`` to a list of
        ``n_tasks`` tensors ``(n, out_features)``, with an ``out_features``
        attribute."""
        raise NotImplementedError

    def _check_sizes(self, name, sizes):
        sizes = [sizes] if isinstance(sizes, int) else list(sizes)
        if not sizes or any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in sizes):
            raise ValueError(
                f"{type(self).__name__}: {name} must be a non-empty sequence of positive "
                f"integers; got {sizes!r}."
            )
        return sizes

    def _check_count(self, name, value, minimum):
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ValueError(
                f"{type(self).__name__}: {name} must be an integer >= {minimum}; got {value!r}."
            )
        return value
