"""The class prior estimated from a score: a two-component Student-t mixture, fitted by ECME.

Used by :class:`~galaxy_learn.classification.ThresholdClassifier` with ``class_prior="auto"``
(user guide, "Labels from a class-proportion prior"): scores have heavy tails (bad pixels,
blends, saturated stars), which a Gaussian component stretches to cover, stealing weight from the
other class; a t component gives far points little weight (Peel & McLachlan 2000, Statistics and
Computing 10, 339; Liu & Rubin 1995, Statistica Sinica 5, 19).
"""
from typing import NamedTuple

import numpy as np
from scipy.special import gammaln
from scipy.stats import t as student_t

# The score's scale is its standard deviation unless outliers own it: a standard deviation more
# than this many robust (IQR) scales is driven by a few extreme scores (one score of 1e30 would
# otherwise squash every other score to z = 0 and flatten the calibration).
_MAX_STD_PER_ROBUST_SCALE = 10.0

# class_prior="auto": a two-component Student-t mixture on the score standardised by its median
# and IQR and clipped at +-_PRIOR_CLIP such units (a stray 1e30 cannot own a component; the t
# components give far points little weight anyway). Fitted on at most _PRIOR_MAX_SAMPLES points
# (the weight's sampling error is then < 0.005, far below its model error), by EM started from
# the two sides of several quantile cuts; the start most likely after a few iterations is run
# to convergence.
_PRIOR_CLIP = 30.0
_PRIOR_MAX_SAMPLES = 20_000
_PRIOR_INIT_CUTS = (0.1, 0.3, 0.5, 0.7, 0.9)
_PRIOR_SHORT_ITER = 20  # EM iterations of every start; the most likely one then runs on
_PRIOR_SHORT_SAMPLES = 5_000  # points the starts are compared on
_PRIOR_MAX_ITER = 300
_PRIOR_TOL = 1e-7  # on the mean log-likelihood per point
_PRIOR_VAR_FLOOR = 1e-4  # in robust units: a component never collapses onto tied scores
# Degrees of freedom a t component may take (1: Cauchy; 200: Gaussian in all but name).
_DF_GRID = (1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0, 24.0, 32.0, 64.0, 200.0)


def _robust_scale(s):
    """IQR / 1.349, else 1.4826 MAD (both consistent with a Gaussian's sigma); 0.0 if both are 0."""
    with np.errstate(over="ignore", invalid="ignore"):
        q1, q3 = np.quantile(s, [0.25, 0.75])
        candidates = ((q3 - q1) / 1.349, 1.4826 * np.median(np.abs(s - np.median(s))))
    for scale in candidates:
        if 0 < scale < np.inf:
            return float(scale)
    return 0.0


def _score_scale(s):
    """Scale of a score: its standard deviation, or a robust scale where outliers dominate it."""
    with np.errstate(over="ignore", invalid="ignore"):
        sd = float(s.std())
    robust = _robust_scale(s)
    if 0 < sd < np.inf and (robust == 0 or sd <= _MAX_STD_PER_ROBUST_SCALE * robust):
        return sd
    if robust > 0:
        return robust
    with np.errstate(over="ignore", invalid="ignore"):
        spread = float(np.max(np.abs(s - np.median(s))))
    return spread if 0 < spread < np.inf else 1.0


class _TMixture(NamedTuple):
    """A fitted two-component 1-D Student-t mixture (in standardised units)."""

    weights: np.ndarray
    locations: np.ndarray
    scales: np.ndarray
    dfs: np.ndarray
    log_likelihood: float

    def side_weight(self, orientation):
        """Weight of the component on the ``orientation`` side (+1: higher location)."""
        high = int(np.argmax(self.locations))
        return float(self.weights[high if orientation > 0 else 1 - high])

    def narrow_side(self):
        """+1 if the component with the smaller interquartile range lies on the high side."""
        iqr = self.scales * student_t.ppf(0.75, self.dfs)
        narrow = int(np.argmin(iqr))
        return 1 if self.locations[narrow] >= self.locations[1 - narrow] else -1


def _t_log_density(z, loc, var, df):
    d2 = (z - loc) ** 2 / var
    return (gammaln((df + 1) / 2) - gammaln(df / 2) - 0.5 * np.log(df * np.pi * var)
            - (df + 1) / 2 * np.log1p(d2 / df))


def _fit_t_mixture(z, weights, locations, variances, dfs=(4.0, 4.0), max_iter=_PRIOR_MAX_ITER):
    """ECME for two 1-D Student-t components (Liu & Rubin 1995; Peel & McLachlan 2000).

    E-step and closed-form M-step for weights, locations and scales; each degree of freedom is then
    set to the value of ``_DF_GRID`` that maximises the observed likelihood (a conditional
    maximisation, so the likelihood never decreases; the ECM root-finding update drifts towards
    large degrees of freedom for hundreds of iterations on Gaussian-like components).
    """
    z = z[:, None]
    w, loc, var = (np.array(a, dtype=np.float64) for a in (weights, locations, variances))
    grid = np.asarray(_DF_GRID, dtype=np.float64)
    df = np.array(dfs, dtype=np.float64)
    previous = -np.inf
    for _ in range(max_iter):
        log_p = np.log(w) + _t_log_density(z, loc, var, df)
        log_total = np.logaddexp(log_p[:, :1], log_p[:, 1:])
        ll = float(log_total.mean())
        if ll - previous < _PRIOR_TOL:
            break
        previous = ll
        resp = np.exp(log_p - log_total)
        u = (df + 1) / (df + (z - loc) ** 2 / var)
        n_k = resp.sum(axis=0) + 1e-12
        w = np.clip(n_k / z.shape[0], 1e-6, None)
        w /= w.sum()
        ru = resp * u
        loc = (ru * z).sum(axis=0) / np.maximum(ru.sum(axis=0), 1e-300)
        var = np.maximum((ru * (z - loc) ** 2).sum(axis=0) / n_k, _PRIOR_VAR_FLOOR)
        for k in range(2):
            other = np.log(w[1 - k]) + _t_log_density(z[:, 0], loc[1 - k], var[1 - k], df[1 - k])
            mine = np.log(w[k]) + _t_log_density(z, loc[k], var[k], grid)
            df[k] = grid[int(np.argmax(np.logaddexp(other[:, None], mine).mean(axis=0)))]
    return _TMixture(w, loc, np.sqrt(var), df, ll)


def _fit_prior_mixture(s):
    """Best of several EM starts of a two-component t mixture on the robustly standardised score."""
    scale = _robust_scale(s) or _score_scale(s)  # the latter when most scores are tied
    with np.errstate(over="ignore", invalid="ignore"):
        z = np.clip((s - np.median(s)) / scale, -_PRIOR_CLIP, _PRIOR_CLIP)
    # the starts are compared on evenly spaced order statistics (a quantile sketch of z)
    z_short = np.sort(z)[:: max(1, z.size // _PRIOR_SHORT_SAMPLES)]
    best = None
    for q in _PRIOR_INIT_CUTS:
        cut = np.quantile(z, q)
        low, high = z[z <= cut], z[z > cut]
        if low.size < 2 or high.size < 2:
            continue
        fit = _fit_t_mixture(
            z_short,
            [low.size / z.size, high.size / z.size],
            [np.median(low), np.median(high)],
            [low.var() + 1e-3, high.var() + 1e-3],
            max_iter=_PRIOR_SHORT_ITER,
        )
        if best is None or fit.log_likelihood > best.log_likelihood:
            best = fit
    if best is not None:  # the most likely start, run to convergence
        best = _fit_t_mixture(z, best.weights, best.locations, best.scales**2, best.dfs)
    else:  # too few distinct scores for two components: one split at the median
        high = z > np.median(z)
        if not high.any():
            high = z >= np.median(z)
        w = np.clip(np.mean(high), 1e-6, 1 - 1e-6)
        best = _TMixture(np.array([1 - w, w]), np.array([0.0, 1.0]), np.ones(2),
                         np.full(2, 4.0), -np.inf)
    return best
