"""Classifiers: threshold cuts on unsupervised scores and the supervised CNN baseline."""
from ._manifold_threshold import ManifoldThresholdClassifier
from ._threshold import ThresholdClassifier
from ._cnn import CNNClassifier
from ._prior_shift import estimate_prior_shift
from ._matched_simulation import MatchedSimulationClassifier

__all__ = [
    "ManifoldThresholdClassifier",
    "ThresholdClassifier",
    "CNNClassifier",
    "MatchedSimulationClassifier",
    "estimate_prior_shift",
]
