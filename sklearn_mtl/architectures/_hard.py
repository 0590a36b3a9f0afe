"""Hard parameter sharing."""

from ..modules import HardSharingBlock
from ._base import BaseArchitecture


class HardSharing(BaseArchitecture):
    """Every task reads the same shared representation (Caruana, 1997).

    The default architecture: the trunk is shared by all tasks, and each task
    only owns its head.

    References
    ----------
    Caruana, R. (1997). Multitask learning. Machine Learning, 28(1), 41-75.
    """

    def build(self, in_features, n_tasks):
        return HardSharingBlock(in_features, n_tasks)
