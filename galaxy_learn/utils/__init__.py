"""Validation of image inputs, device and seeding helpers, scikit-learn compatibility shims."""
from ._torch import batched_apply, resolve_device, seed_from_random_state, torch_seeded
from ._validation import (
    check_dynamic_range,
    check_image_shape,
    check_images,
    looks_channel_last,
    validate_image_data,
)

__all__ = [
    "batched_apply",
    "check_dynamic_range",
    "check_image_shape",
    "check_images",
    "looks_channel_last",
    "resolve_device",
    "seed_from_random_state",
    "torch_seeded",
    "validate_image_data",
]
from ._memmap import iter_chunks  # noqa: E402

__all__ += ["iter_chunks"]
