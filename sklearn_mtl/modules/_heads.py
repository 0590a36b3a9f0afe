"""Per-task classification heads."""

import torch
from torch import nn


class LinearHeads(nn.Module):
    """One linear classification head per task, stored as one fused layer.

    Row block ``t`` of the fused weight is task ``t``'s head: the heads share
    no parameter, but one matrix multiply computes all of them.

    Parameters
    ----------
    in_features : int
        Width of the shared representation.
    n_classes : sequence of int
        Number of classes of each task.
    """

    def __init__(self, in_features, n_classes):
        super().__init__()
        self.n_classes = [int(k) for k in n_classes]
        self.linear = nn.Linear(in_features, sum(self.n_classes))

    def forward(self, z):
        return self.linear(z)

    def split(self, logits):
        """Split concatenated logits into one tensor per task."""
        return torch.split(logits, self.n_classes, dim=1)
