"""Loss functions (pure torch): priors and KL terms, reconstruction, SSIM/TV, contrastive."""
from ._priors import (
    PRIORS,
    AWPrior,
    BasePrior,
    DoublePeakKLPrior,
    NoPrior,
    NormalPrior,
    PWPrior,
    ScalingBoundPrior,
    SeedDoublePeakKLPrior,
    double_peak_kl,
    double_peak_scaling_bound,
    gaussian_mixture_l2_sq,
    make_prior,
    seed_double_peak_kl,
)
from ._reconstruction import reconstruction_loss
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
    "PRIORS",
    "AWPrior",
    "BasePrior",
    "DoublePeakKLPrior",
    "NoPrior",
    "NormalPrior",
    "PWPrior",
    "ScalingBoundPrior",
    "SeedDoublePeakKLPrior",
    "double_peak_kl",
    "double_peak_scaling_bound",
    "gaussian_mixture_l2_sq",
    "make_prior",
    "seed_double_peak_kl",
    "reconstruction_loss",
    "nt_xent_loss",
    "background_darkening_loss",
    "background_tv_loss",
    "foreground_ssim",
    "foreground_ssim_loss",
    "foreground_mask",
    "foreground_l1_loss",
    "DenoisingContrastiveLoss",
]
