"""skorch net of the contrastive denoising autoencoder.

One training step (the pipeline of the Galaxy Zoo: Hubble denoiser, done batched on the training
device):

1. the batch of clean images ``C`` (already scaled, sky level 0) gets two independent random
   geometric transforms → ``C1``, ``C2`` (flips, 90-degree and small rotations, shifts);
2. each view's brightness multiplied by its own random factor (log-uniform in
   ``[1 / brightness_range, brightness_range]``), then Poisson + Gaussian noise → ``N1``, ``N2``;
3. foreground masks ``M1``, ``M2`` from ``C1``, ``C2`` (robust k-sigma threshold, see
   :func:`galaxy_learn.losses.foreground_mask`);
4. one forward pass of the U-Net on ``[N1; N2]`` → reconstructions and projections ``z1``, ``z2``;
5. loss = foreground SSIM + background TV + darkening (reconstructions vs ``C1``, ``C2``) +
   NT-Xent between ``z1`` and ``z2`` (:class:`galaxy_learn.losses.DenoisingContrastiveLoss`).

The loss terms of each batch are recorded in the history (``ssim_loss``, ``tv_loss``,
``dark_loss``, ``contrastive_loss``).
"""
import math
from contextlib import nullcontext

import torch
from skorch import NeuralNet
from skorch.dataset import unpack_data

from ..losses import DenoisingContrastiveLoss, foreground_mask
from ..nn import add_poisson_gaussian_noise, random_geometric

__all__ = ["ContrastiveDenoiserNet"]


class ContrastiveDenoiserNet(NeuralNet):
    """NeuralNet whose ``train_step`` builds the two noisy views, masks and the combined loss.

    Takes :class:`skorch.NeuralNet`'s parameters and these:

    Parameters
    ----------
    noise_gain : float or None
        Poisson gain (counts per scaled unit) of the added noise; None disables shot noise.
    noise_sigma : float
        Gaussian noise level (scaled units); each image draws its level in [0.25, 1] of it.
    flips, rot90 : bool
        Random flips and 90-degree rotations.
    max_rotation : float
        Extra random rotation (degrees).
    max_shift : float
        Random shift (fraction of the image size).
    brightness_range : float, default=1.0
        Each view (target and noisy input alike) is multiplied by its own factor drawn
        log-uniformly in ``[1 / brightness_range, brightness_range]`` before the noise is added,
        so the two views of a galaxy differ in flux and signal-to-noise ratio and the
        contrastive loss cannot match them by brightness. 1 disables it.
    mask_threshold, mask_floor, mask_dilation
        Foreground mask of the clean views, see :func:`galaxy_learn.losses.foreground_mask`.
    augment_seed : int
        Seed of the ``torch.Generator`` (on the training device) driving the augmentations.
    autocast_dtype : torch.dtype or None, default=None
        Mixed precision of the training forward pass (``torch.autocast``, e.g.
        ``torch.bfloat16``); the loss, weights and optimiser stay in float32, and validation
        runs in float32. None: float32 throughout.
    """

    def __init__(self, module, *args, criterion=DenoisingContrastiveLoss, noise_gain=None,
                 noise_sigma=0.1, flips=True, rot90=True, max_rotation=15.0, max_shift=0.05,
                 mask_threshold=3.0, mask_floor=0.02, mask_dilation=1, augment_seed=0,
                 brightness_range=1.0, autocast_dtype=None, **kwargs):
        super().__init__(module, *args, criterion=criterion, **kwargs)
        self.noise_gain = noise_gain
        self.noise_sigma = noise_sigma
        self.flips = flips
        self.rot90 = rot90
        self.max_rotation = max_rotation
        self.max_shift = max_shift
        self.mask_threshold = mask_threshold
        self.mask_floor = mask_floor
        self.mask_dilation = mask_dilation
        self.augment_seed = augment_seed
        self.brightness_range = brightness_range
        self.autocast_dtype = autocast_dtype

    def _augment_generator(self, device):
        gen = getattr(self, "augment_generator_", None)
        if gen is None or gen.device != torch.device(device):
            gen = torch.Generator(device=device).manual_seed(int(self.augment_seed))
            self.augment_generator_ = gen
        return gen

    def make_views(self, clean):
        """Return ``(C12, N12, M12)``: two augmented views of ``clean`` stacked on dim 0."""
        gen = self._augment_generator(clean.device)
        c12 = torch.cat([clean, clean], dim=0)
        c12 = random_geometric(c12, gen, flips=self.flips, rot90=self.rot90,
                               max_rotation=self.max_rotation, max_shift=self.max_shift)
        if self.brightness_range > 1:
            log_r = math.log(self.brightness_range)
            u = torch.rand(c12.shape[0], 1, 1, 1, generator=gen, device=c12.device,
                           dtype=c12.dtype)
            c12 = c12 * torch.exp((2 * u - 1) * log_r)
        n12 = add_poisson_gaussian_noise(c12, gen, gain=self.noise_gain, sigma=self.noise_sigma)
        m12 = foreground_mask(c12, threshold=self.mask_threshold, floor=self.mask_floor,
                              dilation=self.mask_dilation)
        return c12, n12, m12

    def _step_loss(self, batch, training):
        Xi, _ = unpack_data(batch)
        clean = torch.as_tensor(Xi, device=self.device, dtype=torch.float32)
        c12, n12, m12 = self.make_views(clean)
        dtype = self.autocast_dtype
        mixed = training and dtype is not None
        with torch.autocast(clean.device.type, dtype=dtype) if mixed else nullcontext():
            recon, _, z = self.module_(n12)
        recon, z = recon.float(), z.float()
        n = clean.shape[0]
        loss, terms = self.criterion_(recon, c12, m12, z[:n], z[n:])
        for name, value in terms.items():
            self.history.record_batch(name, float(value.detach().item()))
        return loss, recon

    def train_step_single(self, batch, **fit_params):
        self._set_training(True)
        loss, recon = self._step_loss(batch, training=True)
        loss.backward()
        return {"loss": loss, "y_pred": recon}

    def validation_step(self, batch, **fit_params):
        self._set_training(False)
        with torch.no_grad():
            loss, recon = self._step_loss(batch, training=False)
        return {"loss": loss, "y_pred": recon}

    def __getstate__(self):
        # The augmentation generator is training-only state and may live on a GPU: drop it
        # (a later partial fit re-creates it from augment_seed).
        state = super().__getstate__()
        state.pop("augment_generator_", None)
        return state
