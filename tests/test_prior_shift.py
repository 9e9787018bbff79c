"""The class fraction of new data from a classifier's probabilities (prior-shift EM)."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from galaxy_learn.classification import estimate_prior_shift


@pytest.mark.parametrize("true_prior, train_prior", [(0.2, 0.45), (0.7, 0.3), (0.45, 0.45)])
def test_recovers_the_fraction(true_prior, train_prior):
    """Probabilities calibrated to the training fraction (exact Bayes posteriors of two
    Gaussian classes); EM finds the new data's fraction."""
    rng = np.random.default_rng(0)
    n = 20_000
    y = rng.random(n) < true_prior
    score = rng.normal(np.where(y, 1.5, -1.5), 1.0)  # class-conditional N(+-1.5, 1)
    log_lr = 3.0 * score  # log N(s; 1.5, 1) - log N(s; -1.5, 1)
    proba = 1 / (1 + np.exp(-(log_lr + np.log(train_prior / (1 - train_prior)))))
    assert estimate_prior_shift(proba, train_prior) == pytest.approx(true_prior, abs=0.01)
    # the plain mean of the probabilities is biased towards the training fraction
    if true_prior != train_prior:
        assert abs(proba.mean() - true_prior) > abs(
            estimate_prior_shift(proba, train_prior) - true_prior)


@settings(max_examples=30, deadline=None)
@given(labels=st.lists(st.booleans(), min_size=1, max_size=200),
       train_prior=st.floats(0.05, 0.95))
def test_certain_probabilities_give_the_positive_fraction(labels, train_prior):
    """A classifier that is certain (probabilities 0 or 1) leaves nothing to re-weight: the
    estimate is the fraction of ones, whatever the training fraction."""
    proba = np.asarray(labels, dtype=float)
    assert estimate_prior_shift(proba, train_prior) == pytest.approx(proba.mean(), abs=1e-6)


@settings(max_examples=30, deadline=None)
@given(proba=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=100),
       train_prior=st.floats(0.01, 0.99))
def test_estimate_is_a_fraction_and_input_untouched(proba, train_prior):
    p = np.asarray(proba)
    before = p.copy()
    est = estimate_prior_shift(p, train_prior)
    assert 0.0 <= est <= 1.0
    np.testing.assert_array_equal(p, before)


@pytest.mark.parametrize("proba, train_prior, match", [
    (np.array([0.2, np.nan]), 0.5, "finite probabilities"),
    (np.array([0.2, 1.5]), 0.5, "in \\[0, 1\\]"),
    (np.zeros((3, 2)), 0.5, "1-D"),
    (np.array([]), 0.5, "non-empty"),
    (np.array([0.2, 0.3]), 1.0, "train_prior"),
    (np.array([0.2, 0.3]), 0.0, "train_prior"),
])
def test_bad_input(proba, train_prior, match):
    with pytest.raises(ValueError, match=match):
        estimate_prior_shift(proba, train_prior)
