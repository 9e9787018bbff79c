"""Batched image augmentations on tensors (pure torch), on whatever device the batch lives on.

Geometric transforms (flips, 90-degree rotations, small rotations and shifts) are composed into
one affine matrix per image and applied with a single ``affine_grid`` / ``grid_sample`` call for
the whole batch; noise is drawn with ``torch.poisson`` / ``torch.randn``. Every random draw takes
an explicit ``torch.Generator`` (on the batch's device), so a seeded generator reproduces the
augmentations. No per-image Python loop.
"""
import math

import torch
from torch.nn import functional as F

__all__ = ["random_affine_matrices", "apply_affine", "random_geometric", "add_poisson_gaussian_noise",
           "SymmetryAveraged"]


def _uniform(n, low, high, generator, device, dtype=torch.float32):
    u = torch.rand(n, generator=generator, device=device, dtype=dtype)
    return low + (high - low) * u


def random_affine_matrices(n, *, height, width, generator, device="cpu", flips=True,
                           rot90=True, max_rotation=15.0, max_shift=0.05):
    """Draw ``n`` random 2x3 affine matrices in ``affine_grid``'s normalised coordinates.

    Parameters
    ----------
    n : int
        Number of matrices.
    height, width : int
        Image size; 90-degree rotations are only drawn for square images (180 degrees otherwise,
        which keeps a rectangle on itself).
    generator : torch.Generator
        Source of randomness, on ``device``.
    flips : bool, default=True
        Random horizontal flip with probability 1/2.
    rot90 : bool, default=True
        Random rotation by a multiple of 90 degrees.
    max_rotation : float, default=15.0
        Extra rotation drawn uniformly in ``[-max_rotation, max_rotation]`` degrees.
    max_shift : float, default=0.05
        Shift drawn uniformly in ``[-max_shift, max_shift]`` of the image size, per axis.

    Returns
    -------
    theta : Tensor of shape (n, 2, 3)
    """
    quarter = 1 if height == width else 2
    angle = torch.zeros(n, device=device)
    if rot90:
        k = torch.randint(0, 4 // quarter, (n,), generator=generator, device=device)
        angle = angle + k.to(angle.dtype) * (quarter * math.pi / 2)
    if max_rotation > 0:
        angle = angle + _uniform(n, -1.0, 1.0, generator, device) * math.radians(max_rotation)
    flip = torch.ones(n, device=device)
    if flips:
        flip = torch.where(torch.rand(n, generator=generator, device=device) < 0.5, -1.0, 1.0)
    cos, sin = torch.cos(angle), torch.sin(angle)
    # Rotation in pixel units, expressed in normalised coordinates (aspect-ratio aware).
    aspect = width / height
    theta = torch.zeros(n, 2, 3, device=device)
    theta[:, 0, 0] = cos * flip
    theta[:, 0, 1] = -sin * (1.0 / aspect)
    theta[:, 1, 0] = sin * flip * aspect
    theta[:, 1, 1] = cos
    if max_shift > 0:
        theta[:, 0, 2] = _uniform(n, -2 * max_shift, 2 * max_shift, generator, device)
        theta[:, 1, 2] = _uniform(n, -2 * max_shift, 2 * max_shift, generator, device)
    return theta


def apply_affine(x, theta, *, padding_mode="reflection"):
    """Resample images ``x`` (n, C, H, W) with affine matrices ``theta`` (bilinear)."""
    grid = F.affine_grid(theta.to(x.dtype), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode=padding_mode, align_corners=False)


def random_geometric(x, generator, *, flips=True, rot90=True, max_rotation=15.0, max_shift=0.05):
    """Apply one random geometric transform per image of the batch ``x`` (n, C, H, W)."""
    theta = random_affine_matrices(
        x.shape[0], height=x.shape[-2], width=x.shape[-1], generator=generator, device=x.device,
        flips=flips, rot90=rot90, max_rotation=max_rotation, max_shift=max_shift,
    )
    return apply_affine(x, theta)


def add_poisson_gaussian_noise(x, generator, *, gain=None, sigma=0.1, random_level=True):
    """Add Poisson (shot) and Gaussian (sky/read) noise to images ``x`` (n, C, H, W).

    Parameters
    ----------
    x : Tensor of shape (n, C, H, W)
        Clean images, sky level 0.
    generator : torch.Generator
        Source of randomness, on ``x``'s device.
    gain : float or None, default=None
        Counts per image unit: the shot noise is ``(Poisson(gain * max(x, 0)) - gain * max(x, 0))
        / gain``. ``None`` disables it.
    sigma : float, default=0.1
        Standard deviation of the Gaussian noise (image units).
    random_level : bool, default=True
        Whether each image gets its own noise level: ``sigma`` and ``1 / gain`` are scaled by a
        factor drawn uniformly in [0.25, 1], so the network sees a range of signal-to-noise ratios.

    Returns
    -------
    noisy : Tensor of shape (n, C, H, W)
    """
    n = x.shape[0]
    level = torch.ones(n, 1, 1, 1, device=x.device, dtype=x.dtype)
    if random_level:
        level = _uniform(n, 0.25, 1.0, generator, x.device, x.dtype).view(n, 1, 1, 1)
    out = x
    if gain is not None:
        g = gain / level
        rate = x.clamp_min(0) * g
        out = out + (torch.poisson(rate, generator=generator) - rate) / g
    if sigma:
        eps = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
        out = out + sigma * level * eps
    return out


class SymmetryAveraged(torch.nn.Module):
    """``module``'s output averaged over the dihedral symmetries of its image input.

    A square image has 8 (4 rotations by 90 degrees, each with and without a flip), a rectangle
    4 (identity, the two flips and the half turn). Used for test-time augmentation of a network
    trained on those transforms, whose predictions then do not depend on the input's
    orientation.

    Parameters
    ----------
    module : torch.nn.Module
        Maps images of shape (n, C, H, W) to a tensor with the batch on dim 0.
    """

    def __init__(self, module):
        super().__init__()
        self.module = module

    def forward(self, x):
        if x.shape[-1] == x.shape[-2]:
            views = [torch.rot90(v, k, dims=(-2, -1)) for v in (x, x.flip(-1)) for k in range(4)]
        else:
            views = [x, x.flip(-1), x.flip(-2), x.flip(-2, -1)]
        return torch.stack([self.module(v) for v in views]).mean(dim=0)
