"""Representation learners as scikit-learn transformers (autoencoders with latent priors)."""
from ._vae import VAEEncoder
from ._hierarchical import make_hierarchical_vae

__all__ = ["VAEEncoder", "make_hierarchical_vae"]
