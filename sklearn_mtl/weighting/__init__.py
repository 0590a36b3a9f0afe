"""Task-weighting strategies: how the vector of task losses becomes gradients.

Pass a name or an object as ``MultiTaskClassifier(weighting=...)``. Objects
are scikit-learn-style, so their parameters are grid-searchable as
``weighting__<name>``. A new strategy is one module here and one line in
``WEIGHTINGS``.
"""

from ._base import BaseWeighting
from ._dwa import DynamicWeightAverage
from ._famo import FAMO
from ._gradnorm import GradNorm
from ._imtl import IMTLG
from ._mgda import MGDA
from ._rlw import RandomLossWeighting
from ._static import StaticWeighting
from ._uncertainty import UncertaintyWeighting

# name -> class: the one place a strategy is registered
WEIGHTINGS = {
    "static": StaticWeighting,
    "uncertainty": UncertaintyWeighting,
    "dwa": DynamicWeightAverage,
    "rlw": RandomLossWeighting,
    "famo": FAMO,
    "gradnorm": GradNorm,
    "mgda": MGDA,
    "imtl_g": IMTLG,
}

__all__ = [
    "FAMO",
    "IMTLG",
    "MGDA",
    "WEIGHTINGS",
    "BaseWeighting",
    "DynamicWeightAverage",
    "GradNorm",
    "RandomLossWeighting",
    "StaticWeighting",
    "UncertaintyWeighting",
]
