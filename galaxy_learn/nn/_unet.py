"""A U-Net denoising autoencoder with a contrastive projection head (pure torch).

The encoder is a stack of double-convolution blocks with stride-2 max pooling; the decoder mirrors
it with skip connections (Ronneberger et al. 2015): at each level the coarser map is up-sampled,
either bilinearly with its channels kept (``upsampling="bilinear"``) or by a 2x2 stride-2
transposed convolution that halves them (``"transposed"``, the original U-Net's up-convolution),
concatenated with the skip and passed through ``decoder_convs`` 3x3 convolutions. The transposed
up-sampling with one convolution per level takes 56 % of the decoder FLOPs of the bilinear one with
two (70 % of the whole network's at depth 3), and leaves the encoder (the representation)
unchanged. The bottleneck feature
map is average-pooled and mapped linearly to a representation ``h``, and a small MLP (Linear,
BatchNorm, ReLU, Linear, as SimCLR's) maps ``h`` to the projection ``z`` on which the NT-Xent loss
acts (SimCLR, Chen et al. 2020: the loss acts on ``z``, downstream tasks use the representation
before the head). ``pooled_features`` returns the global averages of the encoder's feature maps of
the bottleneck (``ContrastiveDenoiser``'s default embedding) or of every level.

GroupNorm rather than BatchNorm in the U-Net: outputs of one image never depend on the other images
of the batch, so the reconstruction and every representation before the head are invariant to
batch composition and work with a batch of one. Only the projection head, which only the training
loss uses, normalises over the batch.
Any band count; images whose size is not a multiple of ``2**depth`` are padded (edge replication)
and the output is cropped back.
"""
import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["UNet", "pad_to_multiple"]


def pad_to_multiple(x, multiple):
    """Pad the last two dims of ``x`` (edge replication) up to a multiple of ``multiple``.

    Returns the padded tensor and the ``(height, width)`` to crop back to.
    """
    h, w = x.shape[-2:]
    ph = (-h) % multiple
    pw = (-w) % multiple
    if ph == 0 and pw == 0:
        return x, (h, w)
    top, left = ph // 2, pw // 2
    x = F.pad(x, (left, pw - left, top, ph - top), mode="replicate")
    return x, (h, w)


def _crop_center(x, size):
    h, w = size
    H, W = x.shape[-2:]
    top, left = (H - h) // 2, (W - w) // 2
    return x[..., top:top + h, left:left + w]


def _groups(channels):
    """GroupNorm groups: at most 8, at least 4 channels per group (a group of one channel would
    erase spatially constant inputs such as 1x1-pixel images)."""
    for g in (8, 4, 2):
        if channels % g == 0 and channels // g >= 4:
            return g
    return 1


class _ConvBlock(nn.Sequential):
    """``n_convs`` times (3x3 convolution, GroupNorm, ReLU)."""

    def __init__(self, c_in, c_out, n_convs=2):
        layers = []
        for i in range(n_convs):
            layers += [nn.Conv2d(c_in if i == 0 else c_out, c_out, 3, padding=1),
                       nn.GroupNorm(_groups(c_out), c_out), nn.ReLU()]
        super().__init__(*layers)


class UNet(nn.Module):
    """U-Net autoencoder returning ``(reconstruction, embedding, projection)``.

    Parameters
    ----------
    in_channels : int
        Number of bands.
    base_channels : int, default=16
        Channels of the first level; doubled at every down-sampling.
    depth : int, default=3
        Number of down-sampling steps (the stride is ``2**depth``).
    embedding_dim : int, default=64
        Size of the representation ``h`` (a linear map of the pooled bottleneck).
    projection_dim : int, default=32
        Size of the projection ``z`` fed to the contrastive loss.
    residual : bool, default=False
        Whether the decoder predicts a correction added to the input (``x + f(x)``, as in DnCNN),
        which makes the identity the starting point; otherwise it predicts the image directly.
    upsampling : {"bilinear", "transposed"}, default="bilinear"
        Decoder up-sampling: bilinear interpolation keeping the coarser level's channels, or a
        2x2 stride-2 transposed convolution to the finer level's channel count.
    decoder_convs : int, default=2
        3x3 convolutions per decoder level (the encoder always has two).
    unshuffle : int, default=1
        FFDNet's reversible down-sampling (Zhang, Zuo & Zhang 2018): each ``unshuffle x
        unshuffle`` block of pixels becomes ``unshuffle**2`` channels before the first level
        (``pixel_unshuffle``), and the output is re-assembled by ``pixel_shuffle``; no pixel is
        lost, and every level runs at ``1 / unshuffle**2`` of the pixels (2: about 4x fewer
        FLOPs).
    """

    def __init__(self, in_channels, base_channels=16, depth=3, embedding_dim=64, projection_dim=32,
                 residual=False, upsampling="bilinear", decoder_convs=2, unshuffle=1):
        super().__init__()
        if upsampling not in ("bilinear", "transposed"):
            raise ValueError(f"upsampling must be 'bilinear' or 'transposed', got {upsampling!r}")
        self.in_channels = in_channels
        self.depth = depth
        self.residual = residual
        self.upsampling = upsampling
        self.unshuffle = int(unshuffle)
        chans = [base_channels * 2**i for i in range(depth + 1)]
        self.down = nn.ModuleList()
        c_prev = in_channels * self.unshuffle**2
        for c in chans:
            self.down.append(_ConvBlock(c_prev, c))
            c_prev = c
        self.up = nn.ModuleList()
        self.up_conv = nn.ModuleList()
        for c_skip in reversed(chans[:-1]):
            if upsampling == "transposed":
                self.up_conv.append(nn.ConvTranspose2d(c_prev, c_skip, 2, stride=2))
                c_prev = c_skip
            self.up.append(_ConvBlock(c_prev + c_skip, c_skip, decoder_convs))
            c_prev = c_skip
        self.out = nn.Conv2d(c_prev, in_channels * self.unshuffle**2, 1)
        self.embed = nn.Linear(chans[-1], embedding_dim)
        # SimCLR's head: Linear -> BatchNorm -> ReLU -> Linear. The batch normalisation matters:
        # pooled group-normalised features vary little between images, and without it the
        # projections collapsed to one point (NT-Xent stuck at log(2n - 1) for a whole fit).
        # Only the training loss sees the head (in training mode the batch holds both views, so
        # never a single row); h and every transform output are computed before it.
        self.project = nn.Sequential(
            nn.Linear(embedding_dim, embedding_dim),
            nn.BatchNorm1d(embedding_dim),
            nn.ReLU(),
            nn.Linear(embedding_dim, projection_dim),
        )

    @property
    def stride(self):
        return self.unshuffle * 2**self.depth

    def encode(self, x):
        """Return the skip feature maps and the representation ``h`` of padded input ``x``."""
        if self.unshuffle > 1:
            x = F.pixel_unshuffle(x, self.unshuffle)
        skips = []
        for i, block in enumerate(self.down):
            if i > 0:
                x = F.max_pool2d(x, 2)
            x = block(x)
            skips.append(x)
        # Under mixed precision (torch.autocast) only the convolutions run in low precision:
        # the pooling, the representation h and the projection head stay float32 (a no-op in a
        # float32 forward pass).
        with torch.autocast(x.device.type, enabled=False):
            pooled = x.float().mean(dim=(-2, -1))
            # The linear map as a broadcast product + sum rather than a GEMM: a GEMM's blocking
            # depends on the row's position in the batch (float32 results then differ in the
            # last bit), and the embedding must not depend on the batch composition.
            h = (pooled[:, None, :] * self.embed.weight).sum(dim=-1) + self.embed.bias
        return skips, h

    def decode(self, skips):
        x = skips[-1]
        for i, (block, skip) in enumerate(zip(self.up, reversed(skips[:-1]))):
            if self.upsampling == "transposed":
                x = self.up_conv[i](x)
            else:
                x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            x = block(torch.cat([x, skip], dim=1))
        x = self.out(x)
        return F.pixel_shuffle(x, self.unshuffle) if self.unshuffle > 1 else x

    def embedding(self, x):
        """Representation ``h`` of images ``x`` of shape (n, C, H, W), any H, W."""
        x, _ = pad_to_multiple(x, self.stride)
        return self.encode(x)[1]

    def pooled_features(self, x, *, multiscale=True):
        """Global average of the encoder's feature maps of images ``x`` (n, C, H, W).

        ``multiscale=True``: the averages of every encoder level (after its double convolution),
        concatenated from the finest to the bottleneck, ``base_channels * (2**(depth + 1) - 1)``
        values; ``False``: the bottleneck's only, ``base_channels * 2**depth`` values. These are
        the representations before the linear map to ``h`` and the projection head.
        """
        x, _ = pad_to_multiple(x, self.stride)
        skips, _ = self.encode(x)
        maps = skips if multiscale else skips[-1:]
        return torch.cat([m.mean(dim=(-2, -1)) for m in maps], dim=1)

    def forward(self, x):
        x_pad, size = pad_to_multiple(x, self.stride)
        skips, h = self.encode(x_pad)
        out = self.decode(skips)
        if self.residual:
            out = out + x_pad
        with torch.autocast(x.device.type, enabled=False):
            z = self.project(h)
        return _crop_center(out, size), h, z
