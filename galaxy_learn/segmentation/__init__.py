"""Unsupervised segmentation: hypercolumn features, object/background clustering, large fields,
per-pixel star/galaxy maps."""
from ._fields import apply_tiled, iter_tiles
from ._hypercolumns import HypercolumnExtractor, to_pixel_features
from ._pixel_classification import extract_cutouts, pixel_class_map
from ._segmenter import (
    HypercolumnSegmenter,
    deblend_watershed,
    object_positions,
    robust_sigma,
    trim_footprints,
)

__all__ = [
    "HypercolumnExtractor",
    "HypercolumnSegmenter",
    "apply_tiled",
    "deblend_watershed",
    "extract_cutouts",
    "iter_tiles",
    "object_positions",
    "pixel_class_map",
    "robust_sigma",
    "to_pixel_features",
    "trim_footprints",
]
