"""Convolutional classifier network in the spirit of Kim & Brunner (2017).

Kim & Brunner's star-galaxy ConvNet stacks small (3x3) convolutions with leaky ReLU activations,
max-pools between groups of convolutions, and finishes with two wide fully connected layers with
dropout. :class:`ConvNet` keeps that recipe and makes it size-agnostic: any band count, any image
size (pooling stops halving an axis once it reaches one pixel) and, with ``channels=()``, plain
tabular rows (the convolutional part is skipped and the dense head is an MLP). An optional central
``crop`` makes the network look only where a catalogue cutout's object lives: a 32x32 crop of a
64x64 stamp costs a quarter of the convolutions.

Pure torch: this module never imports scikit-learn or skorch.

References
----------
Kim, E. J. & Brunner, R. J. 2017, MNRAS 464, 4463, "Star-galaxy classification using deep
convolutional neural networks".
"""
import torch
from torch import nn

__all__ = ["ConvNet", "make_activation"]

_ACTIVATIONS = ("leaky_relu", "prelu", "relu", "elu")


def make_activation(name, num_parameters=1):
    """Return a fresh activation module from its name (``leaky_relu``, ``prelu``, ``relu``, ``elu``)."""
    if name == "leaky_relu":
        return nn.LeakyReLU(0.01)
    if name == "prelu":
        return nn.PReLU(num_parameters)
    if name == "relu":
        return nn.ReLU()
    if name == "elu":
        return nn.ELU()
    msg = f"The 'activation' parameter must be one of {_ACTIVATIONS}. Got {name!r}."
    raise ValueError(msg)


def _conv_block(c_in, c_out, n_convs, activation, batchnorm, pool):
    layers = []
    for i in range(n_convs):
        layers.append(nn.Conv2d(c_in if i == 0 else c_out, c_out, 3, padding=1, bias=not batchnorm))
        if batchnorm:
            layers.append(nn.BatchNorm2d(c_out))
        layers.append(make_activation(activation, c_out))
    if pool != (1, 1):
        layers.append(nn.MaxPool2d(pool))
    return nn.Sequential(*layers)


class ConvNet(nn.Module):
    """Stacked 3x3 convolutions, max-pooling, dropout and dense layers, returning class logits.

    Parameters
    ----------
    input_shape : tuple of int
        ``(bands, height, width)`` of the images, or ``(n_features,)`` for tabular rows.
    n_outputs : int, default=2
        Number of logits (classes).
    channels : tuple of int, default=(32, 64, 128)
        Output channels of each convolutional block; each block ends with a 2x2 max-pool (an axis
        already one pixel wide is not pooled). ``()`` gives an MLP on the flattened input.
    convs_per_block : int, default=2
        Number of 3x3 convolutions per block.
    dense_units : tuple of int, default=(256, 256)
        Widths of the hidden fully connected layers before the output layer.
    dropout : float, default=0.5
        Dropout probability before each dense layer.
    activation : {"leaky_relu", "prelu", "relu", "elu"}, default="leaky_relu"
        Nonlinearity after every convolution and hidden dense layer.
    batchnorm : bool, default=True
        Batch normalisation after each convolution.
    crop : int or None, default=None
        Side of the central square the network keeps (``(H - crop) // 2`` pixels dropped at the
        top and left, the rest at the bottom and right) before the first convolution; the dense
        head is sized for the crop. None keeps the whole image. Ignored for tabular rows.

    Attributes
    ----------
    features : torch.nn.Sequential
        The convolutional blocks (``block0``, ``block1``, ...); empty for tabular input. Its
        children are what :class:`galaxy_learn.plotting.FeatureMapDisplay` shows.
    head : torch.nn.Sequential
        Flatten, dense layers and output layer.

    Examples
    --------
    >>> import torch
    >>> net = ConvNet((5, 32, 32), n_outputs=3, channels=(8, 16), dense_units=(32,))
    >>> net(torch.zeros(4, 5, 32, 32)).shape
    torch.Size([4, 3])
    >>> ConvNet((5, 64, 64), crop=32, channels=(8, 16))(torch.zeros(4, 5, 64, 64)).shape
    torch.Size([4, 2])
    """

    def __init__(
        self,
        input_shape,
        n_outputs=2,
        *,
        channels=(32, 64, 128),
        convs_per_block=2,
        dense_units=(256, 256),
        dropout=0.5,
        activation="leaky_relu",
        batchnorm=True,
        crop=None,
    ):
        super().__init__()
        input_shape = tuple(int(s) for s in input_shape)
        self.input_shape = input_shape
        channels = tuple(int(c) for c in channels)
        if len(input_shape) == 1 and channels:
            msg = (
                f"ConvNet got tabular input_shape={input_shape}; convolutions need "
                "(bands, height, width). Use channels=() for an MLP on tabular rows."
            )
            raise ValueError(msg)
        self.crop = None if crop is None or len(input_shape) == 1 else int(crop)
        shape = input_shape
        if self.crop is not None:
            c, h, w = input_shape
            if not 1 <= self.crop <= min(h, w):
                msg = (
                    f"The 'crop' parameter ({self.crop}) must be between 1 and the image size "
                    f"({h}x{w})."
                )
                raise ValueError(msg)
            self._top, self._left = (h - self.crop) // 2, (w - self.crop) // 2
            shape = (c, self.crop, self.crop)
        blocks = []
        if channels:
            c, h, w = shape
            for i, c_out in enumerate(channels):
                pool = (2 if h >= 2 else 1, 2 if w >= 2 else 1)
                blocks.append(
                    (f"block{i}", _conv_block(c, c_out, convs_per_block, activation, batchnorm, pool))
                )
                c, h, w = c_out, h // pool[0], w // pool[1]
            n_flat = c * h * w
        else:
            n_flat = 1
            for s in shape:
                n_flat *= s
        self.features = nn.Sequential()
        for name, block in blocks:
            self.features.add_module(name, block)
        head = [nn.Flatten()]
        n_in = n_flat
        for units in dense_units:
            if dropout > 0:
                head.append(nn.Dropout(dropout))
            head += [nn.Linear(n_in, int(units)), make_activation(activation, int(units))]
            n_in = int(units)
        if dropout > 0 and dense_units:
            head.append(nn.Dropout(dropout))
        head.append(nn.Linear(n_in, int(n_outputs)))
        self.head = nn.Sequential(*head)

    def _images(self, x):
        """Unflatten rows to ``input_shape`` and keep the central crop, if any."""
        if len(self.input_shape) == 3 and x.ndim == 2:
            x = x.reshape((x.shape[0],) + self.input_shape)
        if self.crop is not None and x.ndim == 4:
            x = x[:, :, self._top:self._top + self.crop, self._left:self._left + self.crop]
        return x

    def forward(self, x):
        """Return logits of shape ``(n, n_outputs)`` for images ``(n, C, H, W)`` or rows ``(n, F)``."""
        return self.head(self.features(self._images(x)))

    def embed(self, x):
        """Return the last hidden dense layer's activations (a learned latent space)."""
        h = self.features(self._images(x))
        for layer in list(self.head)[:-1]:
            h = layer(h)
        return h
