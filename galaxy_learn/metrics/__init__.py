"""Scores: unsupervised classification, segmentation and detection."""
from ._segmentation import (
    detection_scores,
    dice_score,
    match_objects,
    object_centroids,
    pixel_iou,
)

__all__ = [
    "detection_scores",
    "dice_score",
    "match_objects",
    "object_centroids",
    "pixel_iou",
]
