"""Loss functions (pure torch): priors and KL terms, reconstruction, SSIM/TV, contrastive."""
from ._contrastive import nt_xent_loss
from ._denoising import (
    DenoisingContrastiveLoss,
    foreground_l1_loss,
    foreground_mask,
    background_darkening_loss,
    background_tv_loss,
    foreground_ssim,
    foreground_ssim_loss,
)

__all__ = [
    "nt_xent_loss",
    "background_darkening_loss",
    "background_tv_loss",
    "foreground_ssim",
    "foreground_ssim_loss",
    "foreground_mask",
    "foreground_l1_loss",
    "DenoisingContrastiveLoss",
]
