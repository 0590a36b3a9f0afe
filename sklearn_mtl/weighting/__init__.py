"""Task-weighting strategies: how the vector of task losses becomes gradients.

Pass a name or an object as ``MultiTaskClassifier(weighting=...)``. Objects
are scikit-learn-style, so their parameters are grid-searchable as
``weighting__<name>``. A new strategy is one module here and one line in
``WEIGHTINGS`` (for a name; an object needs neither). Loss-based strategies
derive from :class:`BaseWeighting`; gradient-based ones from
:class:`GramWeighting`, and only map the Gram matrix of the task gradients to
weights.
"""

from ._aligned_mtl import AlignedMTL
from ._base import BaseWeighting, GramWeighting
from ._cagrad import CAGrad
from ._dwa import DynamicWeightAverage
from ._famo import FAMO
from ._gradnorm import GradNorm
from ._imtl import IMTLG
from ._mgda import MGDA
from ._pcgrad import PCGrad
from ._rlw import RandomLossWeighting
from ._static import StaticWeighting
from ._uncertainty import UncertaintyWeighting

#: The strategies ``weighting=<name>`` accepts: name -> class. The one place a
#: strategy is registered.
WEIGHTINGS = {
    "static": StaticWeighting,
    "uncertainty": UncertaintyWeighting,
    "dwa": DynamicWeightAverage,
    "rlw": RandomLossWeighting,
    "famo": FAMO,
    "gradnorm": GradNorm,
    "mgda": MGDA,
    "imtl_g": IMTLG,
    "pcgrad": PCGrad,
    "cagrad": CAGrad,
    "aligned_mtl": AlignedMTL,
}

__all__ = [
    "AlignedMTL",
    "CAGrad",
    "FAMO",
    "IMTLG",
    "MGDA",
    "PCGrad",
    "WEIGHTINGS",
    "BaseWeighting",
    "GramWeighting",
    "DynamicWeightAverage",
    "GradNorm",
    "RandomLossWeighting",
    "StaticWeighting",
    "UncertaintyWeighting",
]
