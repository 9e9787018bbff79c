"""Metrics for unsupervised classification (and, later, segmentation and detection)."""
from ._classification import best_alignment_accuracy, scores_by_magnitude, unsupervised_roc_auc

__all__ = [
    "best_alignment_accuracy",
    "scores_by_magnitude",
    "unsupervised_roc_auc",
]
