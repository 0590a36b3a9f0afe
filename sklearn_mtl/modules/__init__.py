"""Torch building blocks: trunks, architecture blocks, heads, and the network."""

from ._conv import ConvFeatures
from ._experts import HardSharingBlock, MMoEBlock, PLEBlock
from ._heads import LinearHeads, TaskHeads
from ._mlp import MLPTrunk
from ._network import MultiTaskModule, SharedTrunk

__all__ = [
    "ConvFeatures",
    "HardSharingBlock",
    "LinearHeads",
    "MLPTrunk",
    "MMoEBlock",
    "MultiTaskModule",
    "PLEBlock",
    "SharedTrunk",
    "TaskHeads",
]
