"""Torch building blocks: trunks, heads and the multi-task network that joins them."""

from ._heads import LinearHeads
from ._mlp import MLPTrunk
from ._network import MultiTaskModule

__all__ = ["LinearHeads", "MLPTrunk", "MultiTaskModule"]
