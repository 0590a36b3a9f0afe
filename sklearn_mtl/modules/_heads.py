"""Per-task classification heads."""

import torch
from torch import nn

from ._mlp import MLPTrunk


class LinearHeads(nn.Module):
    """One linear classification head per task, stored as one fused layer.

    Row block ``t`` of the fused weight is task ``t``'s head: the heads share
    no parameter, but one matrix multiply computes all of them. Used when all
    tasks read the same representation and heads have no hidden layer.

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

    def forward(self, representations):
        return self.linear(representations[0])


class TaskHeads(nn.Module):
    """One head per task: optional hidden layers, then a linear layer.

    Parameters
    ----------
    in_features : int
        Width of each task's representation.
    n_classes : sequence of int
    hidden_layer_sizes : sequence of int
    activation : str
    dropout : float
    """

    def __init__(self, in_features, n_classes, hidden_layer_sizes=(), activation="relu",
                 dropout=0.0):
        super().__init__()
        self.n_classes = [int(k) for k in n_classes]
        heads = []
        for k in self.n_classes:
            body = MLPTrunk(in_features, hidden_layer_sizes, activation, dropout)
            heads.append(nn.Sequential(body, nn.Linear(body.out_features, k)))
        self.heads = nn.ModuleList(heads)

    def forward(self, representations):
        return torch.cat([head(z) for head, z in zip(self.heads, representations)], dim=1)
