"""Classifiers: threshold cuts on unsupervised scores and the supervised CNN baseline."""
__all__ = []
from ._cnn import CNNClassifier  # noqa: E402
__all__ += ["CNNClassifier"]
