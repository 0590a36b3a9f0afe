"""Task-weighting strategies: how the vector of task losses becomes gradients.

Pass a name or an object as ``MultiTaskClassifier(weighting=...)``. Objects
are scikit-learn-style, so their parameters are grid-searchable as
``weighting__<name>``. A new strategy is one module here and one line in
``WEIGHTINGS``.
"""

from ._base import BaseWeighting
from ._static import StaticWeighting

# name -> class: the one place a strategy is registered
WEIGHTINGS = {
    "static": StaticWeighting,
}

__all__ = ["WEIGHTINGS", "BaseWeighting", "StaticWeighting"]
