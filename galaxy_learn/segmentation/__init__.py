"""Unsupervised segmentation: hypercolumn features, object/background clustering, large fields."""
from ._hypercolumns import HypercolumnExtractor, to_pixel_features

__all__ = ["HypercolumnExtractor", "to_pixel_features"]
from ._fields import apply_tiled, iter_tiles  # noqa: E402
from ._segmenter import (  # noqa: E402
    HypercolumnSegmenter,
    deblend_watershed,
    object_positions,
    robust_sigma,
)

__all__ += ["HypercolumnSegmenter", "apply_tiled", "deblend_watershed",
            "iter_tiles", "object_positions", "robust_sigma"]
from ._pixel_classification import extract_cutouts, pixel_class_map  # noqa: E402

__all__ += ["extract_cutouts", "pixel_class_map"]
