"""Segmentation: background estimation, calibrated detection, deblending, catalogues,
hypercolumn features, large fields, per-pixel star/galaxy maps."""
from ._background import estimate_background, robust_sigma
from ._catalog import object_positions, trim_footprints
from ._deblend import deblend_watershed
from ._detect import expected_false_detections
from ._fields import apply_tiled, iter_tiles
from ._hypercolumns import HypercolumnExtractor, to_pixel_features
from ._pixel_classification import extract_cutouts, pixel_class_map
from ._segmenter import HypercolumnSegmenter

__all__ = [
    "HypercolumnExtractor",
    "HypercolumnSegmenter",
    "apply_tiled",
    "deblend_watershed",
    "estimate_background",
    "expected_false_detections",
    "extract_cutouts",
    "iter_tiles",
    "object_positions",
    "pixel_class_map",
    "robust_sigma",
    "to_pixel_features",
    "trim_footprints",
]
