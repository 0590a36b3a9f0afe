"""How tasks share the trunk: hard sharing and mixtures of experts.

Each architecture is a clonable scikit-learn-style object; pass one (or its
name) as ``MultiTaskClassifier(architecture=...)``. It declares its parameters
in ``_parameter_constraints`` and implements ``_build``;
:meth:`BaseArchitecture.build` validates them and checks the block it makes,
and :meth:`BaseArchitecture.build_heads` makes the heads.
"""

from ._base import BaseArchitecture
from ._hard import HardSharing
from ._mmoe import MMoE
from ._ple import CGC, PLE

#: The architectures ``architecture=<name>`` accepts: name -> class. The one
#: place a new architecture is registered.
ARCHITECTURES = {"hard": HardSharing, "mmoe": MMoE, "ple": PLE, "cgc": CGC}

__all__ = ["ARCHITECTURES", "BaseArchitecture", "CGC", "HardSharing", "MMoE", "PLE"]
