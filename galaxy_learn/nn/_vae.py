"""Encoder / decoder networks of the (variational) autoencoders. Pure torch.

* :class:`ConvEncoder` / :class:`ConvDecoder`: any band count and image size. Strided 3×3
  convolutions replace pooling ("ConvReplacePooling" of Sun 2017, project notebook, Part 2.1.2),
  each followed by batch norm and a leaky ReLU. Sizes not divisible by 2 are handled by padding
  (ceil division going down) and a per-level ``output_padding`` going up, so the decoder
  returns exactly the input size.
* :class:`MLPEncoder` / :class:`MLPDecoder`: plain 2-D tabular input (features of a frozen AE in
  the hierarchical design, and scikit-learn's estimator checks).
* :class:`VAEModule`: encoder → (μ, log σ²) → z → decoder, with the prior deciding the mean
  activation (tanh-bounded for the AW penalty) and whether z is sampled (not for a plain AE).
* :class:`VAEEnsembleModule`: several :class:`VAEModule` side by side, their codes
  concatenated (a deep ensemble).
"""
import math

import torch
from torch import nn

__all__ = ["ConvEncoder", "ConvDecoder", "MLPEncoder", "MLPDecoder", "VAEModule",
           "VAEEnsembleModule", "conv_sizes"]


def conv_sizes(height, width, n_levels):
    """Spatial sizes ``[(H0, W0), (H1, W1), ...]`` after each stride-2 level (ceil division)."""
    sizes = [(int(height), int(width))]
    for _ in range(n_levels):
        h, w = sizes[-1]
        sizes.append(((h + 1) // 2, (w + 1) // 2))
    return sizes


def _block(conv, channels, batch_norm):
    layers = [conv]
    if batch_norm:
        layers.append(nn.BatchNorm2d(channels))
    layers.append(nn.LeakyReLU(0.2))
    return layers


class ConvEncoder(nn.Module):
    """Strided-convolution encoder ``(n, C, H, W) → (n, n_out)``.

    Parameters
    ----------
    in_shape : tuple of int
        ``(bands, height, width)``.
    n_out : int
        Output width (``2 * n_latent`` for a VAE: means and log-variances).
    channels : tuple of int, default=(32, 64, 128)
        Channels of the stride-2 levels (one level per entry).
    hidden_units : int, default=128
        Width of the dense layer between the convolutions and the output.
    batch_norm : bool, default=True

    References
    ----------
    H. Sun, "Unsupervised star-galaxy segmentation and classification", project notebook, LCDM,
    University of Illinois at Urbana-Champaign (2017), Part 2.1.2: stride-2 convolutions in place
    of max-pooling keep more of the structure of the image.
    """

    def __init__(self, in_shape, n_out, channels=(32, 64, 128), hidden_units=128, batch_norm=True):
        super().__init__()
        c, h, w = (int(v) for v in in_shape)
        layers = []
        prev = c
        for ch in channels:
            layers += _block(nn.Conv2d(prev, ch, 3, stride=2, padding=1), ch, batch_norm)
            prev = ch
        self.conv = nn.Sequential(*layers)
        hl, wl = conv_sizes(h, w, len(channels))[-1]
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Linear(prev * hl * wl, hidden_units),
            nn.LeakyReLU(0.2),
            nn.Linear(hidden_units, n_out),
        )

    def forward(self, x):
        return self.head(self.conv(x))


class ConvDecoder(nn.Module):
    """Mirror of :class:`ConvEncoder`: ``(n, n_latent) → (n, C, H, W)`` (linear output)."""

    def __init__(self, out_shape, n_latent, channels=(32, 64, 128), hidden_units=128,
                 batch_norm=True):
        super().__init__()
        c, h, w = (int(v) for v in out_shape)
        channels = tuple(channels)
        sizes = conv_sizes(h, w, len(channels))
        self._top = (channels[-1],) + sizes[-1]
        self.head = nn.Sequential(
            nn.Linear(n_latent, hidden_units),
            nn.LeakyReLU(0.2),
            nn.Linear(hidden_units, int(math.prod(self._top))),
            nn.LeakyReLU(0.2),
        )
        layers = []
        outs = list(channels[::-1][1:]) + [c]
        prev = channels[-1]
        for level, ch in enumerate(outs):
            (h_in, w_in), (h_out, w_out) = sizes[-1 - level], sizes[-2 - level]
            pad = (h_out - 2 * h_in + 1, w_out - 2 * w_in + 1)
            conv = nn.ConvTranspose2d(prev, ch, 3, stride=2, padding=1, output_padding=pad)
            if level == len(outs) - 1:
                layers.append(conv)  # output layer: activation chosen by the likelihood
            else:
                layers += _block(conv, ch, batch_norm)
            prev = ch
        self.deconv = nn.Sequential(*layers)

    def forward(self, z):
        return self.deconv(self.head(z).view(-1, *self._top))


class MLPEncoder(nn.Module):
    """Dense encoder for tabular input ``(n, n_features) → (n, n_out)``."""

    def __init__(self, n_features, n_out, hidden_units=(64, 32), batch_norm=True):
        super().__init__()
        layers, prev = [], int(n_features)
        for width in hidden_units:
            layers.append(nn.Linear(prev, width))
            if batch_norm:
                layers.append(nn.BatchNorm1d(width))
            layers.append(nn.LeakyReLU(0.2))
            prev = width
        layers.append(nn.Linear(prev, n_out))
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x.reshape(x.shape[0], -1))


class MLPDecoder(nn.Module):
    """Dense decoder ``(n, n_latent) → (n, n_features)`` (linear output)."""

    def __init__(self, n_features, n_latent, hidden_units=(64, 32), batch_norm=True):
        super().__init__()
        layers, prev = [], int(n_latent)
        for width in tuple(hidden_units)[::-1]:
            layers.append(nn.Linear(prev, width))
            if batch_norm:
                layers.append(nn.BatchNorm1d(width))
            layers.append(nn.LeakyReLU(0.2))
            prev = width
        layers.append(nn.Linear(prev, int(n_features)))
        self.net = nn.Sequential(*layers)

    def forward(self, z):
        return self.net(z)


class _Identity:
    stochastic = True

    @staticmethod
    def mean_activation(raw):
        return raw


class VAEModule(nn.Module):
    """Variational autoencoder: ``forward(x) → (x_hat, mu, logvar, z)``.

    Parameters
    ----------
    in_shape : tuple of int
        ``(bands, height, width)`` for the convolutional networks or ``(n_features,)`` for the
        dense ones.
    n_latent : int
        Latent units.
    prior : object, default=None
        Prior object (``galaxy_learn.losses``); only its ``mean_activation`` and ``stochastic``
        attributes are used here. None: identity mean, sampled z.
    channels : tuple of int, default=(32, 64, 128)
        Convolution levels (images) — ignored for tabular input.
    hidden_units : int, default=128
        Dense width (images); tabular input uses ``(2*hidden_units//4, hidden_units//4)``
        (at least 8 units).
    batch_norm : bool, default=True
    output : {"identity", "sigmoid"}, default="identity"
        Activation of :meth:`decode_mean` (the decoder itself returns logits / linear values).
    """

    def __init__(self, in_shape, n_latent=2, prior=None, channels=(32, 64, 128),
                 hidden_units=128, batch_norm=True, output="identity"):
        super().__init__()
        in_shape = tuple(int(v) for v in in_shape)
        self.in_shape = in_shape
        self.n_latent = int(n_latent)
        self.prior = prior if prior is not None else _Identity()
        self.output = output
        if len(in_shape) == 3:
            self.encoder = ConvEncoder(in_shape, 2 * n_latent, channels, hidden_units, batch_norm)
            self.decoder = ConvDecoder(in_shape, n_latent, channels, hidden_units, batch_norm)
        else:
            widths = (max(8, hidden_units // 2), max(8, hidden_units // 4))
            self.encoder = MLPEncoder(in_shape[0], 2 * n_latent, widths, batch_norm)
            self.decoder = MLPDecoder(in_shape[0], n_latent, widths, batch_norm)

    def encode(self, x):
        """Return ``(mu, logvar)`` of the approximate posterior."""
        h = self.encoder(x)
        raw_mu, logvar = h[:, : self.n_latent], h[:, self.n_latent:]
        # bounded log-variance: keeps exp() finite early in training without changing optima
        logvar = 10.0 * torch.tanh(logvar / 10.0)
        return self.prior.mean_activation(raw_mu), logvar

    def decode(self, z):
        """Decoder output before the output activation (logits for a Bernoulli likelihood)."""
        return self.decoder(z)

    def decode_mean(self, z):
        """Decoded image / features in data units (output activation applied)."""
        out = self.decoder(z)
        return torch.sigmoid(out) if self.output == "sigmoid" else out

    def forward(self, x):
        mu, logvar = self.encode(x)
        if self.training and getattr(self.prior, "stochastic", True):
            z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        else:
            z = mu
        return self.decode(z), mu, logvar, z


class VAEEnsembleModule(nn.Module):
    """``n_members`` independent :class:`VAEModule` side by side (a deep ensemble).

    Each member has its own weights (initialised one after the other from the torch random
    stream) and sees the same input; nothing is shared but the prior object. The code of the
    ensemble is the concatenation of the members' codes, member by member:
    ``mu[:, j * n_latent:(j + 1) * n_latent]`` belongs to member ``j``.

    ``forward(x) → (x_hat, mu, logvar, z)`` with ``x_hat`` of shape ``(n_members, n, ...)`` (one
    reconstruction per member, for a per-member loss) and ``mu``, ``logvar``, ``z`` of shape
    ``(n, n_members * n_latent)``. :meth:`decode` returns the members' outputs stacked the same
    way; :meth:`decode_mean` their average (the ensemble's reconstruction of a code).

    Parameters
    ----------
    in_shape : tuple of int
    n_members : int, default=2
    n_latent : int, default=2
        Latent units per member.
    **kwargs
        Passed to every :class:`VAEModule` (``prior``, ``channels``, ``hidden_units``...).
    """

    def __init__(self, in_shape, n_members=2, n_latent=2, **kwargs):
        super().__init__()
        self.n_members = int(n_members)
        self.n_latent = int(n_latent)
        self.members = nn.ModuleList(
            [VAEModule(in_shape, n_latent, **kwargs) for _ in range(self.n_members)])

    def split(self, z):
        """The members' slices of concatenated codes ``z`` (a tuple of ``n_members`` tensors)."""
        return torch.split(z, self.n_latent, dim=1)

    def encode(self, x):
        """Return the concatenated ``(mu, logvar)`` of all members."""
        mus, logvars = zip(*(member.encode(x) for member in self.members))
        return torch.cat(mus, dim=1), torch.cat(logvars, dim=1)

    def decode(self, z):
        """Every member's decoder output of its slice of ``z``, stacked: ``(n_members, n, ...)``."""
        return torch.stack([m.decode(zj) for m, zj in zip(self.members, self.split(z))])

    def decode_mean(self, z):
        """Mean over the members of their decoded images (output activation applied)."""
        decoded = [m.decode_mean(zj) for m, zj in zip(self.members, self.split(z))]
        return torch.stack(decoded).mean(0)

    def forward(self, x):
        outs = [member(x) for member in self.members]
        x_hat = torch.stack([o[0] for o in outs])
        mu, logvar, z = (torch.cat([o[i] for o in outs], dim=1) for i in (1, 2, 3))
        return x_hat, mu, logvar, z
