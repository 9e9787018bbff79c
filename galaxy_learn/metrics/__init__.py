"""Metrics: unsupervised classification scores, segmentation and detection scores."""
from ._classification import best_alignment_accuracy, scores_by_magnitude, unsupervised_roc_auc
from ._segmentation import (
    detection_scores,
    dice_score,
    match_objects,
    object_centroids,
    pixel_iou,
)

__all__ = [
    "best_alignment_accuracy",
    "scores_by_magnitude",
    "unsupervised_roc_auc",
    "detection_scores",
    "dice_score",
    "match_objects",
    "object_centroids",
    "pixel_iou",
]
