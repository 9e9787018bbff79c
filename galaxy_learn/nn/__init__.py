"""Pure torch modules (never imports scikit-learn or skorch)."""
from ._augment import add_poisson_gaussian_noise, random_geometric
from ._unet import UNet

__all__ = [
    "UNet",
    "add_poisson_gaussian_noise",
    "random_geometric",
]
