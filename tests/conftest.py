"""Shared, seeded fixtures. Torch uses one thread so CI timings are stable on 2 cores."""
import os

import matplotlib
import numpy as np
import pytest
import torch
from hypothesis import settings

matplotlib.use("Agg")
# CI (CI=true) replays the same hypothesis examples on every run, so a red CI is reproducible and
# never depends on the draw; local runs keep exploring new examples.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
torch.set_num_threads(int(os.environ.get("GALAXY_LEARN_TEST_THREADS", "1")))


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def tiny_images(rng):
    """16 random 2-band 16x16 images with a bright centre (a source) and noise."""
    yy, xx = np.mgrid[:16, :16] - 7.5
    blob = np.exp(-(xx**2 + yy**2) / 6.0)
    X = rng.normal(0, 0.1, size=(16, 2, 16, 16)) + rng.uniform(1, 5, size=(16, 1, 1, 1)) * blob
    return X.astype(np.float32)
