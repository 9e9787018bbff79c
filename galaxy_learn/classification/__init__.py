"""Classifiers: threshold cuts on unsupervised scores and the supervised CNN baseline."""
from ._manifold_threshold import ManifoldThresholdClassifier
from ._threshold import ThresholdClassifier
from ._cnn import CNNClassifier

__all__ = [
    "ManifoldThresholdClassifier",
    "ThresholdClassifier",
    "CNNClassifier",
]
