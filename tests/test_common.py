"""scikit-learn's estimator checks over every public estimator of galaxy_learn.

Estimators are discovered automatically: any public class exported in ``galaxy_learn.__all__`` or a
subpackage's ``__all__`` that derives from :class:`sklearn.base.BaseEstimator` is checked the day
it lands. Networks are made tiny for the checks through ``CHECK_PARAMS`` (speed only: the defaults
are what users get). An expected failure needs a reason in ``EXPECTED_FAILED_CHECKS``.
"""
import importlib
import inspect
import pkgutil

import numpy as np
import pytest
from sklearn.base import BaseEstimator
from sklearn.utils.estimator_checks import parametrize_with_checks

import galaxy_learn
from galaxy_learn.segmentation import HypercolumnExtractor

# Small, fast settings per estimator class (never changes what is checked, only how long it takes).
CHECK_PARAMS = {}
CHECK_PARAMS["VAEEncoder"] = dict(max_epochs=2, batch_size=16, hidden_units=8, channels=(4,))
CHECK_PARAMS["CNNClassifier"] = dict(
    channels=(4,), dense_units=(16,), dropout=0.0, max_epochs=15, batch_size=32, lr=2e-2,
    random_state=0, device="cpu",
)
CHECK_PARAMS["CenterCrop"] = {"size": 1}  # tabular rows are 1x1-pixel bands
CHECK_PARAMS["HypercolumnExtractor"] = {
    "channels": (2, 4), "layers": ("input", "enc0", "enc1"), "max_epochs": 1, "device": "cpu",
}
CHECK_PARAMS["HypercolumnSegmenter"] = {
    "extractor": HypercolumnExtractor(channels=(2, 4), layers=("input", "enc0", "enc1"),
                                      max_epochs=1, device="cpu"),
    "max_fit_pixels": 500,
}
CHECK_PARAMS["ContrastiveDenoiser"] = dict(
    base_channels=2, depth=1, embedding_dim=2, projection_dim=2, max_epochs=1, batch_size=32,
    device="cpu", random_state=0,
)


class TabularSimulator:
    """A simulator for scikit-learn's tabular check data: two Gaussian classes shifted by one
    standard deviation of each column of ``X`` (the default simulator renders survey stamps).
    A class with a fixed repr, so that the test ids are the same in every pytest-xdist worker
    (a function's repr holds its address)."""

    def __call__(self, X, n_samples, random_state=None):
        rng = np.random.default_rng(random_state)
        X = np.asarray(X, dtype=float)
        mean, std = np.nanmean(X, axis=0), np.nanstd(X, axis=0) + 1e-3
        y = np.arange(n_samples) % 2
        noise = rng.standard_normal((n_samples, X.shape[1]))
        return mean + std * (noise + (2 * y - 1)[:, None]), y

    def __repr__(self):
        return "TabularSimulator()"


CHECK_PARAMS["MatchedSimulationClassifier"] = dict(
    simulator=TabularSimulator(), features=None, n_simulated=200, random_state=0,
)

# {class name: {check name: reason a reviewer would accept}}
EXPECTED_FAILED_CHECKS = {}
_FLOAT32_CONV = (
    "float32 convolutions (oneDNN on CPU, cuDNN on GPU) pick their algorithm per batch shape, so "
    "an image's output differs by ~1e-7-1e-6 (a few float32 ulps) between a batch of one and a "
    "full batch or another position in the batch; these checks demand 1e-7 relative / 1e-9 "
    "absolute. Same input, same batching is bit-identical (tested in the estimators' own tests); "
    "predicted labels agree. The checks often pass now (XPASS); they failed here at 3e-7 relative "
    "before the denoiser's activations changed, and the kernels guarantee no bitwise agreement."
)
EXPECTED_FAILED_CHECKS["CNNClassifier"] = {
    "check_methods_subset_invariance": _FLOAT32_CONV,
    "check_methods_sample_order_invariance": _FLOAT32_CONV,
}
EXPECTED_FAILED_CHECKS["HypercolumnSegmenter"] = {
    "check_estimators_dtypes": (
        "the integer-cast data holds constant rows, i.e. images with no noise; detection "
        "significance is undefined there and the segmenter raises a ValueError by design "
        "(documented; tested in test_segmentation.py) rather than return a silent empty result"
    ),
}
EXPECTED_FAILED_CHECKS["ContrastiveDenoiser"] = {
    "check_methods_subset_invariance": _FLOAT32_CONV,
    "check_methods_sample_order_invariance": _FLOAT32_CONV,
}


def _public_estimators():
    found = {}
    modules = [galaxy_learn]
    for info in pkgutil.walk_packages(galaxy_learn.__path__, prefix="galaxy_learn."):
        if any(part.startswith("_") for part in info.name.split(".")[1:]):
            continue
        if info.name.endswith(".cli") or info.name == "galaxy_learn.nets":
            continue  # nets/ holds skorch NeuralNet subclasses, wrapped by estimators, not ones
        modules.append(importlib.import_module(info.name))
    for module in modules:
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name, None)
            if (
                inspect.isclass(obj)
                and issubclass(obj, BaseEstimator)
                and not inspect.isabstract(obj)
                and not name.startswith("_")
                # skorch nets (galaxy_learn.nets) are building blocks owned by the estimators,
                # configured through **kwargs like every skorch NeuralNet: not checked here.
                and not obj.__module__.startswith("galaxy_learn.nets")
            ):
                found[name] = obj
    return [found[k] for k in sorted(found)]


ESTIMATORS = [cls(**CHECK_PARAMS.get(cls.__name__, {})) for cls in _public_estimators()]


def _expected_failed(estimator):
    return EXPECTED_FAILED_CHECKS.get(type(estimator).__name__, {})


def test_estimators_discovered():
    """Every estimator exported at top level is among those checked."""
    names = {type(e).__name__ for e in ESTIMATORS}
    for name in galaxy_learn.__all__:
        obj = getattr(galaxy_learn, name)
        if inspect.isclass(obj) and issubclass(obj, BaseEstimator):
            assert name in names


if ESTIMATORS:

    @parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failed)
    def test_sklearn_compatible_estimator(estimator, check):
        check(estimator)
