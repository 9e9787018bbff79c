"""A new data set's class fraction from a classifier's probabilities: prior-shift EM.

A classifier trained where the positive fraction was ``train_prior`` gives probabilities
calibrated to that fraction; applied to data with another fraction its posteriors are wrong by a
known factor, and the data's own fraction is the fixed point of the EM of Saerens, Latinne &
Decaestecker (2002, Neural Computation 14, 21). Used to cut a simulation-trained classifier's
scores at a real field's estimated star fraction (user guide, "Star/galaxy separation on real
data", section "Training on simulations matched to the field").
"""
from numbers import Real

import numpy as np

__all__ = ["estimate_prior_shift"]


def estimate_prior_shift(proba, train_prior, *, max_iter=1000, tol=1e-8):
    """The positive-class fraction of a new data set from a classifier's probabilities.

    The posteriors are re-weighted by ``pi / train_prior`` and ``(1 - pi) / (1 - train_prior)``
    and ``pi`` is set to the mean re-weighted posterior, until it no longer moves (Saerens,
    Latinne & Decaestecker 2002). The estimate is right when the class-conditional
    distributions of the new data are those the classifier was trained on (only the fractions
    changed) and its probabilities are calibrated there.

    Parameters
    ----------
    proba : array-like of shape (n_samples,)
        Positive-class probabilities on the new data, in [0, 1].
    train_prior : float
        Positive fraction of the training set, in (0, 1).
    max_iter : int, default=1000
    tol : float, default=1e-8
        Stop when the fraction moves by less than this.

    Returns
    -------
    float
        Estimated positive fraction of the new data.

    Raises
    ------
    ValueError
        ``proba`` not 1-D, empty, non-finite or outside [0, 1]; ``train_prior`` outside (0, 1).

    Examples
    --------
    >>> import numpy as np
    >>> from galaxy_learn.classification import estimate_prior_shift
    >>> rng = np.random.default_rng(0)
    >>> y = rng.random(20_000) < 0.2                       # the new data: 20 % positive
    >>> log_lr = 3.0 * rng.normal(np.where(y, 1.5, -1.5))  # class-conditional N(+-1.5, 1)
    >>> proba = 1 / (1 + np.exp(-log_lr))                  # calibrated for a 50 % training set
    >>> round(estimate_prior_shift(proba, 0.5), 2)
    0.2
    """
    p = np.asarray(proba, dtype=float)
    if p.ndim != 1 or p.size == 0:
        msg = f"proba must be a non-empty 1-D array of probabilities; got shape {p.shape}."
        raise ValueError(msg)
    if not np.all(np.isfinite(p)) or p.min() < 0 or p.max() > 1:
        msg = "proba must hold finite probabilities in [0, 1]."
        raise ValueError(msg)
    if (not isinstance(train_prior, Real) or isinstance(train_prior, bool)
            or not 0 < train_prior < 1):
        msg = f"train_prior must be in (0, 1); got {train_prior!r}."
        raise ValueError(msg)
    p = np.clip(p, 1e-12, 1 - 1e-12)
    pi = float(p.mean())
    for _ in range(int(max_iter)):
        a = pi / train_prior * p
        post = a / (a + (1 - pi) / (1 - train_prior) * (1 - p))
        new = float(post.mean())
        if abs(new - pi) < tol:
            return new
        pi = new
    return pi
