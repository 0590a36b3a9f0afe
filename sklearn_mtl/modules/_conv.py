"""Convolutional feature extractor for images given as flattened rows."""

from torch import nn


class ConvFeatures(nn.Module):
    """``(n, C*H*W)`` rows -> images -> conv blocks -> flat features.

    Each block is ``Conv2d(k, padding=k//2) -> [BatchNorm2d] -> ReLU`` followed by
    a 2x2 max-pool while the image is at least 2 pixels on each side, so the
    same sizes suit 8x8 digits and 28x28 or 36x36 images.

    Parameters
    ----------
    input_shape : tuple of int
        ``(channels, height, width)`` of one image.
    channels : sequence of int
        Output channels of each block.
    kernel_size : int
    batch_norm : bool

    Attributes
    ----------
    out_features : int
        Width of the flattened output.
    """

    def __init__(self, input_shape, channels=(32, 64), kernel_size=3, batch_norm=False):
        super().__init__()
        c, h, w = input_shape
        self.input_shape = tuple(input_shape)
        layers = []
        pad = kernel_size // 2
        for out in channels:
            layers.append(nn.Conv2d(c, out, kernel_size, padding=pad))
            # odd kernels keep the size; even ones grow it by one pixel
            h, w = h + 2 * pad - kernel_size + 1, w + 2 * pad - kernel_size + 1
            if batch_norm:
                layers.append(nn.BatchNorm2d(out))
            layers.append(nn.ReLU())
            if h >= 2 and w >= 2:
                layers.append(nn.MaxPool2d(2))
                h, w = h // 2, w // 2
            c = out
        layers.append(nn.Flatten())
        self.layers = nn.Sequential(*layers)
        self.out_features = c * h * w

    def forward(self, x):
        return self.layers(x.reshape(x.shape[0], *self.input_shape))
