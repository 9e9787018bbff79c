"""Image preprocessing transformers: intensity scaling, flattening, cropping."""
from ._psf import psf_rescale
from ._reshape import CenterCrop, ImageFlattener
from ._scaler import ImageScaler

__all__ = [
    "CenterCrop",
    "ImageFlattener",
    "ImageScaler",
    "psf_rescale",
]
