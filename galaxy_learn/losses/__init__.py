"""Pure torch losses: latent priors (KL terms and their analogies), reconstruction terms."""
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
]
