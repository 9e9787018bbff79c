"""Convolutional autoencoder with residual (skip) connections, for hypercolumn features.

The segmentation network of Sun (2017, project notebook, Part 2.1.4): an encoder of stride-2
convolutions (convolutions replacing max-pooling keep more structure, Part 2.1.2) and a decoder of
transposed convolutions; with ``skip_connections=True`` each up-sampling layer *adds* the feature
map of the encoder level of the same resolution (a residual connection between a down-sampling
layer and its up-sampling counterpart). ``skip_connections=False`` gives the plain autoencoder of
Part 2.1.3.

:meth:`ResidualConvAutoencoder.feature_maps` returns every intermediate map by name, the raw
material of hypercolumns (Hariharan et al. 2014):

* ``"input"`` – the input itself (full resolution);
* ``"enc0"`` … ``"enc{D-1}"`` – encoder levels, ``enc{i}`` at ``1/2**i`` resolution;
* ``"dec{D-2}"`` … ``"dec0"`` – decoder levels, ``dec{i}`` at the resolution of ``enc{i}``;
* ``"output"`` – the reconstruction (a denoised copy of the input).

Images whose height or width is not a multiple of ``2**(D-1)`` are zero-padded at the bottom/right
and every map is cropped back, so the network is fully convolutional on any image size.
"""
import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["ResidualConvAutoencoder", "autoencoder_layer_names"]

_ACTIVATIONS = {"relu": nn.ReLU, "elu": nn.ELU, "leaky_relu": nn.LeakyReLU, "tanh": nn.Tanh}


def autoencoder_layer_names(depth):
    """Names of the feature maps of a :class:`ResidualConvAutoencoder` with ``depth`` levels."""
    enc = [f"enc{i}" for i in range(depth)]
    dec = [f"dec{i}" for i in range(depth - 2, -1, -1)]
    return ["input"] + enc + dec + ["output"]


def _conv_block(c_in, c_out, activation):
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1), _ACTIVATIONS[activation]())


class ResidualConvAutoencoder(nn.Module):
    """Convolutional autoencoder with additive skip connections between matching levels.

    Parameters
    ----------
    in_channels : int, default=5
        Number of bands.
    channels : tuple of int, default=(16, 32, 64)
        Channels per level; ``len(channels)`` is the depth ``D`` (``D - 1`` down-samplings).
    skip_connections : bool, default=True
        Add each encoder map to the decoder map of the same resolution.
    activation : {"relu", "elu", "leaky_relu", "tanh"}, default="relu"
        Hidden activation. The output layer is linear (inputs are expected scaled, e.g. arcsinh).

    References
    ----------
    H. Sun, "Unsupervised star-galaxy segmentation and classification", project notebook, LCDM,
    University of Illinois at Urbana-Champaign (2017), Part 2.1 (AEs with residual connections
    for hypercolumn segmentation); summarised in H. Sun, E. J. Kim, S. Li and R. J. Brunner,
    "Unsupervised star-galaxy segmentation and classification", summary report (2017).

    B. Hariharan, P. Arbeláez, R. Girshick and J. Malik, "Hypercolumns for object segmentation
    and fine-grained localization", CVPR 2015, arXiv:1411.5752.
    """

    def __init__(self, in_channels=5, channels=(16, 32, 64), skip_connections=True,
                 activation="relu"):
        super().__init__()
        channels = tuple(int(c) for c in channels)
        if len(channels) < 1 or any(c < 1 for c in channels):
            msg = f"channels must be a non-empty tuple of positive ints. Got {channels!r}."
            raise ValueError(msg)
        if activation not in _ACTIVATIONS:
            msg = f"activation must be one of {sorted(_ACTIVATIONS)}. Got {activation!r}."
            raise ValueError(msg)
        self.in_channels = int(in_channels)
        self.channels = channels
        self.depth = len(channels)
        self.skip_connections = bool(skip_connections)
        act = _ACTIVATIONS[activation]
        self.stem = _conv_block(self.in_channels, channels[0], activation)
        self.down = nn.ModuleList()
        for c_prev, c in zip(channels[:-1], channels[1:]):
            self.down.append(nn.Sequential(
                nn.Conv2d(c_prev, c, 2, stride=2), act(), nn.Conv2d(c, c, 3, padding=1), act()
            ))
        self.up = nn.ModuleList()
        self.up_conv = nn.ModuleList()
        for c_prev, c in zip(channels[:-1][::-1], channels[1:][::-1]):
            self.up.append(nn.Sequential(nn.ConvTranspose2d(c, c_prev, 2, stride=2), act()))
            self.up_conv.append(_conv_block(c_prev, c_prev, activation))
        self.head = nn.Conv2d(channels[0], self.in_channels, 1)

    @property
    def layer_names(self):
        """Names of the maps returned by :meth:`feature_maps`, from input to output."""
        return autoencoder_layer_names(self.depth)

    def layer_channels(self):
        """Dict ``name -> number of channels`` of every feature map."""
        out = {"input": self.in_channels, "output": self.in_channels}
        for i, c in enumerate(self.channels):
            out[f"enc{i}"] = c
            if i < self.depth - 1:
                out[f"dec{i}"] = c
        return out

    def _pad(self, x):
        mult = 2 ** (self.depth - 1)
        h, w = x.shape[-2:]
        ph, pw = (-h) % mult, (-w) % mult
        if ph or pw:
            x = F.pad(x, (0, pw, 0, ph))
        return x, h, w

    def _run(self, x, keep):
        x, h, w = self._pad(x)
        maps = {"input": x}
        feats = [self.stem(x)]
        for block in self.down:
            feats.append(block(feats[-1]))
        for i, f in enumerate(feats):
            maps[f"enc{i}"] = f
        z = feats[-1]
        for k, (up, conv) in enumerate(zip(self.up, self.up_conv)):
            level = self.depth - 2 - k
            z = up(z)
            if self.skip_connections:
                z = z + feats[level]
            z = conv(z)
            maps[f"dec{level}"] = z
        maps["output"] = self.head(z)
        if keep is None:
            return maps["output"][..., :h, :w]
        return {name: maps[name] for name in keep}, (h, w)

    def forward(self, x):
        """Reconstruction of ``x``, same shape ``(n, C, H, W)``."""
        return self._run(x, None)

    def feature_maps(self, x, layers=None):
        """Intermediate maps by name (each at its own resolution, padded grid).

        Parameters
        ----------
        x : tensor of shape (n, C, H, W)
        layers : list of str, default=None
            Names to return (see :attr:`layer_names`); None returns all.

        Returns
        -------
        maps : dict of str to tensor
            ``maps[name]`` has shape ``(n, c, ceil(H / 2**i) ...)`` on the zero-padded grid.
        size : tuple of int
            The original ``(H, W)`` to crop to after up-sampling.
        """
        names = self.layer_names if layers is None else list(layers)
        unknown = [n for n in names if n not in self.layer_names]
        if unknown:
            msg = f"Unknown layer name(s) {unknown}; available: {self.layer_names}."
            raise ValueError(msg)
        return self._run(x, names)

    def hypercolumns(self, x, layers, weights=None, scales=None, channels_last=True):
        """Stack the chosen maps, bilinearly up-sampled to input resolution, per pixel.

        Parameters
        ----------
        x : tensor of shape (n, C, H, W)
        layers : list of str
        weights : list of float, default=None
            Multiplier of each layer's block of features (default 1).
        scales : list of float, default=None
            Divisor of each layer's block (e.g. its typical activation scale), applied before the
            weight so that weights compare layers on one footing.
        channels_last : bool, default=True
            False returns ``(n, F, H, W)`` instead (no transposed copy).

        Returns
        -------
        tensor of shape (n, H, W, F)
            ``F`` is the sum of the chosen layers' channel counts, in the order of ``layers``.
        """
        maps, (h, w) = self.feature_maps(x, layers)
        full = maps["input"].shape[-2:] if "input" in maps else None
        if full is None:
            mult = 2 ** (self.depth - 1)
            full = (h + (-h) % mult, w + (-w) % mult)
        blocks = []
        for k, name in enumerate(layers):
            m = maps[name]
            if m.shape[-2:] != tuple(full):
                m = F.interpolate(m, size=tuple(full), mode="bilinear", align_corners=False)
            m = m[..., :h, :w]
            if scales is not None:
                m = m / scales[k]
            if weights is not None:
                m = m * weights[k]
            blocks.append(m)
        out = torch.cat(blocks, dim=1)
        return out.permute(0, 2, 3, 1).contiguous() if channels_last else out
