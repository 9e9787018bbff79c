"""Validation of image inputs, device and seeding helpers, robust statistics shared by several
subpackages, scikit-learn compatibility shims (``utils._compat``, the one door to sklearn's
private helpers)."""
from ._memmap import iter_chunks
from ._stats import (
    MAD_TO_SIGMA,
    MAX_STAT_PIXELS,
    band_pixels,
    border_mask,
    border_sigma,
    robust_sigma,
    sample_stride,
)
from ._torch import (batched_apply, resolve_device, seed_from_random_state, torch_seeded,
                     training_dtype)
from ._validation import (
    as_image_batch,
    central_crop_slices,
    check_dynamic_range,
    check_image_shape,
    check_images,
    check_psf_fwhm,
    looks_channel_last,
    validate_image_data,
)

__all__ = [
    "MAD_TO_SIGMA",
    "MAX_STAT_PIXELS",
    "as_image_batch",
    "band_pixels",
    "batched_apply",
    "central_crop_slices",
    "border_mask",
    "border_sigma",
    "check_dynamic_range",
    "check_image_shape",
    "check_images",
    "check_psf_fwhm",
    "iter_chunks",
    "looks_channel_last",
    "resolve_device",
    "robust_sigma",
    "sample_stride",
    "seed_from_random_state",
    "torch_seeded",
    "training_dtype",
    "validate_image_data",
]
