"""Denoising autoencoders for astronomical images."""
from ._contrastive_denoiser import ContrastiveDenoiser

__all__ = ["ContrastiveDenoiser"]
