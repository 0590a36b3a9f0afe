"""Fully connected trunk."""

from torch import nn

ACTIVATIONS = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "logistic": nn.Sigmoid,
    "gelu": nn.GELU,
    "identity": nn.Identity,
}


class MLPTrunk(nn.Module):
    """A stack of ``Linear -> [BatchNorm1d] -> activation -> [Dropout]`` blocks.

    Parameters
    ----------
    n_features : int
        Width of the input.
    hidden_layer_sizes : sequence of int
        Width of each hidden layer; empty means the trunk is the identity.
    activation : {"relu", "tanh", "logistic", "gelu", "identity"}
    dropout : float
        Dropout probability after each block (0 disables it).
    batch_norm : bool
        Whether to normalise each block's pre-activations.

    Attributes
    ----------
    out_features : int
        Width of the representation the trunk produces.
    """

    def __init__(
        self, n_features, hidden_layer_sizes, activation="relu", dropout=0.0,
        batch_norm=False,
    ):
        super().__init__()
        layers = []
        width = n_features
        for size in hidden_layer_sizes:
            layers.append(nn.Linear(width, size))
            if batch_norm:
                layers.append(nn.BatchNorm1d(size))
            layers.append(ACTIVATIONS[activation]())
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = size
        self.layers = nn.Sequential(*layers)
        self.out_features = width

    def forward(self, x):
        return self.layers(x)
