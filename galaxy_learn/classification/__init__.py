"""Classifiers: label-free threshold classifiers (and, later, supervised CNNs)."""
from ._threshold import ManifoldThresholdClassifier
from ._threshold import ThresholdClassifier

__all__ = [
    "ManifoldThresholdClassifier",
    "ThresholdClassifier",
]
