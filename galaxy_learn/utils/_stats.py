"""Robust statistics shared by the preprocessing and segmentation code."""
import numpy as np

__all__ = ["MAD_TO_SIGMA", "robust_sigma"]

#: ``1 / Phi^{-1}(3/4)``: the median absolute deviation of a Gaussian times this is its sigma.
MAD_TO_SIGMA = 1.482602218505602


def robust_sigma(values, *, max_samples=None):
    """Gaussian-equivalent standard deviation ``1.4826 * MAD`` of ``values`` (e.g. sky noise).

    Falls back to the standard deviation when the MAD is 0, then to 1 (also for no values).

    Parameters
    ----------
    values : array-like
        Any shape; flattened.
    max_samples : int, default=None
        Use a regular sub-grid of at most this many values (speed on large fields); None uses
        all.

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> from galaxy_learn.utils._stats import robust_sigma
    >>> x = np.random.default_rng(0).normal(scale=2.0, size=100_000)
    >>> round(robust_sigma(x), 1)
    2.0
    >>> robust_sigma(np.zeros(5))
    1.0
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    if max_samples is not None and v.size > max_samples:
        v = v[:: int(np.ceil(v.size / max_samples))]
    if v.size == 0:
        return 1.0
    sigma = MAD_TO_SIGMA * np.median(np.abs(v - np.median(v)))
    if not sigma > 0:
        sigma = np.std(v)
    return float(sigma) if sigma > 0 else 1.0
