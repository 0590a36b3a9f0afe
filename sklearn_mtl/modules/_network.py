"""The multi-task network: a shared trunk followed by per-task heads."""

from torch import nn

from ._heads import LinearHeads


class MultiTaskModule(nn.Module):
    """Hard parameter sharing: ``heads(trunk(x))``.

    The forward pass returns one tensor of concatenated logits of shape
    ``(n_samples, sum(n_classes))`` (skorch keeps only the first element of a
    tuple output); ``split_sizes`` tells how to cut it per task.

    Parameters
    ----------
    trunk : nn.Module
        Maps a float batch ``(n, n_features)`` to a representation
        ``(n, trunk.out_features)``.
    n_classes : sequence of int
        Number of classes of each task.
    """

    def __init__(self, trunk, n_classes):
        super().__init__()
        self.trunk = trunk
        self.heads = LinearHeads(trunk.out_features, n_classes)

    @property
    def split_sizes(self):
        return self.heads.n_classes

    def forward(self, x):
        return self.heads(self.trunk(x))

    def embed(self, x):
        """The shared representation of ``x``."""
        return self.trunk(x)

    def shared_parameters(self):
        """Parameters that every task's loss depends on."""
        return self.trunk.parameters()
