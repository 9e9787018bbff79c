"""galaxy_learn: scikit-learn compatible deep learning for astronomical images.

Every component is a scikit-learn estimator, so a whole system is a
:class:`~sklearn.pipeline.Pipeline`::

    from sklearn.manifold import Isomap
    from sklearn.pipeline import Pipeline
    from galaxy_learn import VAEEncoder, ThresholdClassifier

    pipe = Pipeline([("vae", VAEEncoder(prior="dkl")), ("iso", Isomap()),
                     ("cut", ThresholdClassifier(class_prior=0.4))])

Image conventions: arrays of shape ``(n_samples, bands, height, width)`` (or flattened rows with an
``image_shape`` parameter), float32 inside, ``random_state``, ``device="auto"|"cpu"|"cuda"``,
``verbose`` for progress bars. See ``docs/conventions.rst``."""
from ._version import __version__
from .encoders import VAEEncoder
from .classification import ManifoldThresholdClassifier
from .classification import ThresholdClassifier
from .manifold import LandmarkIsomap
from .segmentation import HypercolumnExtractor, HypercolumnSegmenter
from .denoising import ContrastiveDenoiser
from .classification import CNNClassifier
from .classification import MatchedSimulationClassifier

__all__ = [
    "__version__",
    "VAEEncoder",
    "ManifoldThresholdClassifier",
    "ThresholdClassifier",
    "LandmarkIsomap",
    "HypercolumnExtractor",
    "HypercolumnSegmenter",
    "ContrastiveDenoiser",
    "CNNClassifier",
    "MatchedSimulationClassifier",
]
