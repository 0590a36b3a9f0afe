"""Parameter constraints scikit-learn's ``_param_validation`` does not have."""

import numbers

from sklearn.utils._param_validation import Options


def _is_size(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= 1


class Sizes(Options):
    """Layer widths: a positive integer, or a non-empty sequence of them.

    For ``_parameter_constraints``, e.g. ``"channels": [Sizes()]``; read the
    validated value with :func:`as_sizes`. It subclasses ``Options`` only
    because scikit-learn's ``make_constraint`` passes its own constraint
    classes through and rejects any other.
    """

    def __init__(self):
        super().__init__(type=object, options=set())

    def is_satisfied_by(self, val):
        if _is_size(val):
            return True
        if isinstance(val, (str, bytes)) or not hasattr(val, "__iter__"):
            return False
        sizes = list(val)
        return bool(sizes) and all(_is_size(s) for s in sizes)

    def __str__(self):
        return "a positive int or a non-empty sequence of positive ints"


def as_sizes(value):
    """The list of ``int`` widths of a value that satisfies :class:`Sizes`."""
    return [int(value)] if isinstance(value, numbers.Integral) else [int(s) for s in value]


class Count(Options):
    """An integer of at least ``low`` that is not a bool (scikit-learn's
    ``Interval(numbers.Integral, ...)`` takes ``True`` for 1).

    For ``_parameter_constraints``, e.g. ``"ensemble_size": [Count(1)]``.
    """

    def __init__(self, low=1):
        super().__init__(type=object, options=set())
        self.low = low

    def is_satisfied_by(self, val):
        return isinstance(val, numbers.Integral) and not isinstance(val, bool) \
            and val >= self.low

    def __str__(self):
        return f"an int (not a bool) of at least {self.low}"
