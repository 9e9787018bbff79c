"""Latent priors of the VAE: the penalty that pulls the encoder's posterior towards a prior.

Every prior is a small picklable object with one interface (pure torch, no sklearn/skorch):

``kl(mu, logvar) -> Tensor of shape (n,)``
    Per-sample penalty summed over the latent units it is given (a true KL divergence for
    ``"normal"`` and ``"dkl"``; a bound or a distance for the others).
``mean_activation(raw_mu) -> Tensor``
    Map the encoder's raw mean output (identity except for ``"aw"``, whose mean is tanh-bounded).
``sample(n, n_latent, generator=None) -> Tensor of shape (n, n_latent)``
    Draws from the prior density Q.
``log_prob(z) -> Tensor of shape (n,)``
    ``log Q(z)`` summed over units.
``stochastic``
    Whether the encoder samples ``z = mu + sigma * eps`` in training (False for the plain AE).

The double-peak prior of Sun (2017, project notebook, §1.1.1) is Q = ½N(−m, s²) + ½N(m, s²)
per latent unit. With P = N(μ, σ²) the exact divergence is

    KL(P‖Q) = log(s/σ) − ½ + (μ² + σ² + m²)/(2s²) − E_x[log cosh(m x / s²)],   x ~ N(μ, σ²)

(equivalent to log(2s/σ) + ((μ−m)² + σ² − s²)/(2s²) − E[log(1 + exp(−2mx/s²))]). The
expectation is computed by quadrature: with y = m x / s² ~ N(a, b²), Gauss–Hermite on the analytic
log cosh when b ≤ 1, and for b > 1 the closed-form E|y| plus Gauss–Legendre of the bounded,
smooth remainder log(1 + e^{−2|y|}) over |y| ∈ [0, 20]. Measured against scipy ``quad`` of the
true KL over μ ∈ [−8, 8], σ ∈ [0.01, 5], m ∈ [0, 4], s ∈ [0.1, 4] the relative error is
below 1e-11 in float64 (see tests/test_priors.py). Since log cosh ≥ 0 the same formula shows that
the convexity bound ``"scaling"`` = log(s/σ) + (σ² + μ² + m²)/(2s²) − ½ ≥ KL.
"""
import math

import numpy as np
import torch

__all__ = [
    "BasePrior",
    "NormalPrior",
    "DoublePeakKLPrior",
    "SeedDoublePeakKLPrior",
    "ScalingBoundPrior",
    "AWPrior",
    "PWPrior",
    "NoPrior",
    "PRIORS",
    "make_prior",
    "double_peak_kl",
    "seed_double_peak_kl",
    "double_peak_scaling_bound",
    "gaussian_mixture_l2_sq",
]

_N_HERMITE = 64
_N_LEGENDRE = 96
_Y_MAX = 20.0  # log(1 + exp(-2|y|)) < 1e-17 beyond
_HERM_T, _HERM_W = np.polynomial.hermite.hermgauss(_N_HERMITE)
_LEG_X, _LEG_W = np.polynomial.legendre.leggauss(_N_LEGENDRE)
_SQRT2 = math.sqrt(2.0)
_LOG2 = math.log(2.0)


def _const(values, ref):
    return torch.as_tensor(values, dtype=ref.dtype, device=ref.device)


def _log_cosh(y):
    """Numerically stable log(cosh(y)) = |y| + log1p(exp(-2|y|)) - log 2."""
    a = y.abs()
    return a + torch.log1p(torch.exp(-2.0 * a)) - _LOG2


def _expected_log_cosh(a, b):
    """E[log cosh(y)] for y ~ N(a, b²), elementwise, differentiable in a and b."""
    # Branch 1 (b <= 1): Gauss-Hermite over y = a + sqrt(2) b t; log cosh is analytic and its
    # complex singularities lie >= pi/(2 sqrt(2) b) away from the real t axis.
    b_gh = b.clamp(max=1.0)
    t = _const(_HERM_T, a)
    w = _const(_HERM_W / math.sqrt(math.pi), a)
    y = a.unsqueeze(-1) + _SQRT2 * b_gh.unsqueeze(-1) * t
    e_gh = (w * _log_cosh(y)).sum(-1)
    # Branch 2 (b > 1): E|y| in closed form + E[log1p(exp(-2|y|))] by Gauss-Legendre on [0, Y]
    # against the folded normal density (the remainder is smooth on [0, inf) and negligible
    # beyond Y; the density is wide compared with the node spacing when b > 1).
    b_gl = b.clamp(min=1.0)
    e_abs = b_gl * math.sqrt(2.0 / math.pi) * torch.exp(-0.5 * (a / b_gl) ** 2) + a * torch.erf(
        a / (_SQRT2 * b_gl)
    )
    u = _const((_LEG_X + 1.0) * 0.5 * _Y_MAX, a)
    wu = _const(_LEG_W * 0.5 * _Y_MAX, a)
    rem = torch.log1p(torch.exp(-2.0 * u))
    aa, bb = a.unsqueeze(-1), b_gl.unsqueeze(-1)
    norm = 1.0 / (bb * math.sqrt(2.0 * math.pi))
    dens = norm * (torch.exp(-0.5 * ((u - aa) / bb) ** 2) + torch.exp(-0.5 * ((u + aa) / bb) ** 2))
    e_gl = e_abs + (wu * rem * dens).sum(-1) - _LOG2
    return torch.where(b <= 1.0, e_gh, e_gl)


def double_peak_kl(mu, logvar, m=1.0, s=1.0):
    """Exact KL(N(mu, sigma²) ‖ ½N(−m, s²) + ½N(m, s²)) per element (quadrature, see module doc)."""
    var = logvar.exp()
    sigma = (0.5 * logvar).exp()
    a = mu * (m / s**2)
    b = sigma * (abs(m) / s**2)
    base = math.log(s) - 0.5 * logvar - 0.5 + (mu**2 + var + m**2) / (2.0 * s**2)
    if m == 0:
        return base
    return base - _expected_log_cosh(a, b)


def double_peak_scaling_bound(mu, logvar, m=1.0, s=1.0):
    """Convexity bound ½[KL(P‖N(−m,s²)) + KL(P‖N(m,s²))] = log(s/σ) + (σ²+μ²+m²)/(2s²) − ½ ≥ KL."""
    return math.log(s) - 0.5 * logvar + (logvar.exp() + mu**2 + m**2) / (2.0 * s**2) - 0.5


def seed_double_peak_kl(mu, logvar, m=1.0, s=1.0):
    """The "more precise" closed form of Sun (2017, notebook §1.1.2.2), from its Keras code.

    log(2s/σ) + 2m[−σ exp(−μ²/(2σ²)) + √(π/2) μ (1 − tanh(1.19 μ/(√2 σ)))]/s²
    + ((m−μ)² + (σ−s)(σ+s))/(2s²). It is not a KL: it is asymmetric in μ, negative for μ < 0
    far from the origin (−13.19 at μ=−1.2, σ=0.2, m=1, s=0.5 where the true KL is 1.27) and
    log 2 at P = Q = N(0, 1). Kept only to reproduce the experiments of that notebook
    (transcribed term by term).
    """
    sigma = (0.5 * logvar).exp()
    gamma = -torch.exp(-(mu**2) / (2.0 * logvar.exp())) * sigma + math.sqrt(math.pi / 2) * mu * (
        1.0 - torch.tanh(1.19 * mu / math.sqrt(2.0) / sigma)
    )
    return (
        torch.log(2.0 * s / sigma)
        + 2.0 * m * gamma / s**2
        + ((m - mu) ** 2 + (sigma - s) * (sigma + s)) / (2.0 * s**2)
    )


def gaussian_mixture_l2_sq(mu, sigma, m=1.0, s=1.0):
    """Exact ∫ (N(x; μ, σ²) − [½N(x; −m, s²) + ½N(x; m, s²)])² dx per element.

    Uses ∫N(x; a, α²) N(x; b, β²) dx = N(a; b, α² + β²).
    """
    pp = 1.0 / (2.0 * math.sqrt(math.pi) * sigma)
    v = sigma**2 + s**2
    cross = 0.5 * (
        torch.exp(-((mu + m) ** 2) / (2 * v)) + torch.exp(-((mu - m) ** 2) / (2 * v))
    ) / torch.sqrt(2 * math.pi * v)
    qq = (1.0 + math.exp(-(m**2) / s**2)) / (4.0 * s * math.sqrt(math.pi))
    return (pp - 2.0 * cross + qq).clamp(min=0.0)


def _mixture_log_prob(z, m, s):
    log_n = -0.5 * ((z / s) ** 2 + (m / s) ** 2) - math.log(s) - 0.5 * math.log(2 * math.pi)
    # log(½ e^{-(z-m)²/2s²} + ½ e^{-(z+m)²/2s²}) = -(z²+m²)/2s² + log cosh(zm/s²) + const
    return log_n + _log_cosh(z * m / s**2)


def _normal_pdf(x, mu, sd):
    return torch.exp(-0.5 * ((x - mu) / sd) ** 2) / (sd * math.sqrt(2 * math.pi))


class BasePrior:
    """Base class of the priors: the double-peak density Q = ½N(−m, s²) + ½N(m, s²) per unit.

    Subclasses override :meth:`kl` (per-sample penalty). A user-supplied prior may be any object
    with a ``kl(mu, logvar)`` method returning shape ``(n,)``; the other methods are optional.

    Parameters
    ----------
    m : float, default=1.0
        Half distance between the two peaks (``m=0`` is a single N(0, s²)).
    s : float, default=1.0
        Standard deviation of each peak.
    """

    name = "base"
    stochastic = True

    def __init__(self, m=1.0, s=1.0):
        self.m = float(m)
        self.s = float(s)
        if not self.s > 0:
            msg = f"The prior scale 's' must be > 0. Got {s!r}."
            raise ValueError(msg)

    def kl(self, mu, logvar):  # pragma: no cover - abstract
        raise NotImplementedError

    def mean_activation(self, raw_mu):
        return raw_mu

    def sample(self, n, n_latent, generator=None):
        eps = torch.randn(n, n_latent, generator=generator)
        sign = torch.randint(0, 2, (n, n_latent), generator=generator) * 2.0 - 1.0
        return sign * self.m + self.s * eps

    def log_prob(self, z):
        return _mixture_log_prob(z, self.m, self.s).sum(-1)

    def __repr__(self):
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({params})"

    def __eq__(self, other):
        return type(self) is type(other) and vars(self) == vars(other)

    def __hash__(self):
        return hash((type(self).__name__, tuple(sorted(vars(self).items()))))


class NormalPrior(BasePrior):
    """Standard normal prior N(0, I): closed-form KL ½(μ² + σ² − 1 − log σ²)."""

    name = "normal"

    def __init__(self):
        super().__init__(m=0.0, s=1.0)

    def kl(self, mu, logvar):
        return 0.5 * (mu**2 + logvar.exp() - 1.0 - logvar).sum(-1)


class DoublePeakKLPrior(BasePrior):
    """Exact KL to the double-peak prior ½N(−m, s²) + ½N(m, s²) (``prior="dkl"``).

    The prior is the one proposed for unsupervised star/galaxy separation by Sun (2017); the
    KL is computed exactly by quadrature (see the module docstring) instead of by that
    notebook's closed-form approximation (:class:`SeedDoublePeakKLPrior`).

    References
    ----------
    H. Sun, "Unsupervised star-galaxy segmentation and classification", project notebook, LCDM,
    University of Illinois at Urbana-Champaign (2017),
    §1.1.1 (the double-peak prior) and §1.1.2 (its KL divergence).
    """

    name = "dkl"

    def kl(self, mu, logvar):
        return double_peak_kl(mu, logvar, self.m, self.s).sum(-1)


class SeedDoublePeakKLPrior(BasePrior):
    """Closed-form "precise" double-peak KL of Sun (2017), as published (``prior="dkl_seed"``).

    Measured error against the true KL (scipy quad): +0.10 at (μ, σ, m, s) = (0.5, 0.3, 1, 0.5),
    −14.46 at (−1.2, 0.2, 1, 0.5), −0.66 at (0.1, 0.5, 2, 1), +log 2 at (0, 1, 0, 1). It is
    unbounded below for μ → −∞, so training with it can diverge; use ``"dkl"``.

    References
    ----------
    H. Sun, "Unsupervised star-galaxy segmentation and classification", project notebook, LCDM,
    University of Illinois at Urbana-Champaign (2017),
    §1.1.2.2 (the formula and its Keras ``vae_loss``).
    """

    name = "dkl_seed"

    def kl(self, mu, logvar):
        return seed_double_peak_kl(mu, logvar, self.m, self.s).sum(-1)


class ScalingBoundPrior(BasePrior):
    """Convexity upper bound of the double-peak KL (``prior="scaling"``), Sun (2017) §1.1.2.1.

    log(s/σ) + (σ² + μ² + m²)/(2s²) − ½ = KL + E[log cosh(mx/s²)] ≥ KL. The μ-dependence equals
    that of a single N(0, s²) prior, so it does not favour two peaks.

    References
    ----------
    H. Sun, "Unsupervised star-galaxy segmentation and classification", project notebook, LCDM,
    University of Illinois at Urbana-Champaign (2017), §1.1.2.1 ("an scaling technique").
    """

    name = "scaling"

    def kl(self, mu, logvar):
        return double_peak_scaling_bound(mu, logvar, self.m, self.s).sum(-1)


class AWPrior(BasePrior):
    """Analogy of Wasserstein: −‖μ‖_p + ‖σ − s‖_p with the mean bounded by m·tanh (``"aw"``).

    Pushes :math:`|\\mu|` towards the bound m and σ towards s.

    References
    ----------
    H. Sun, "Unsupervised star-galaxy segmentation and classification", project notebook, LCDM,
    University of Illinois at Urbana-Champaign (2017),
    §1.1.3.2 ("a naive analogy" of the Wasserstein loss).

    M. Arjovsky, S. Chintala and L. Bottou, "Wasserstein GAN", arXiv:1701.07875 (2017).
    """

    name = "aw"

    def __init__(self, m=1.0, s=1.0, p=2.0):
        super().__init__(m=m, s=s)
        self.p = float(p)

    def mean_activation(self, raw_mu):
        return self.m * torch.tanh(raw_mu)

    def kl(self, mu, logvar):
        sigma = (0.5 * logvar).exp()
        return -_pnorm(mu, self.p) + _pnorm(sigma - self.s, self.p)


def _pnorm(x, p, eps=1e-12):
    # (sum |x|^p + eps)^(1/p): differentiable at 0
    return ((x.abs() ** p).sum(-1) + eps) ** (1.0 / p)


class PWPrior(BasePrior):
    """Pseudo-Wasserstein ‖μ‖_p + (Σ_units ∫|P − Q|^p dx)^{1/p} (``prior="pw"``).

    For ``p=2`` the integral is the exact Gaussian closed form; for other p it is computed by
    composite Gauss–Legendre quadrature on panels around the three components (measured error
    in the tests).

    References
    ----------
    H. Sun, "Unsupervised star-galaxy segmentation and classification", project notebook, LCDM,
    University of Illinois at Urbana-Champaign (2017),
    §1.1.3.3 ("another analogy": the pseudo-Wasserstein loss).
    """

    name = "pw"

    def __init__(self, m=1.0, s=1.0, p=2.0):
        super().__init__(m=m, s=s)
        self.p = float(p)

    def integral(self, mu, sigma):
        """∫|N(μ, σ²) − Q|^p dx per element."""
        if self.p == 2.0:
            return gaussian_mixture_l2_sq(mu, sigma, self.m, self.s)
        return _lp_integral_quadrature(mu, sigma, self.m, self.s, self.p)

    def kl(self, mu, logvar):
        sigma = (0.5 * logvar).exp()
        dist = (self.integral(mu, sigma).sum(-1) + 1e-12) ** (1.0 / self.p)
        return _pnorm(mu, self.p) + dist


_PANEL_OFFSETS = (-10.0, -5.0, -2.5, -1.0, 0.0, 1.0, 2.5, 5.0, 10.0)
_N_PANEL = 16
_PANEL_X, _PANEL_W = np.polynomial.legendre.leggauss(_N_PANEL)


def _lp_integral_quadrature(mu, sigma, m, s, p):
    """∫|P − Q|^p dx by composite Gauss–Legendre on panels between breakpoints placed at
    μ + σ·k and ±m + s·k (k in ``_PANEL_OFFSETS``); both densities are negligible outside."""
    k = _const(_PANEL_OFFSETS, mu)
    pts = torch.cat(
        [
            mu.unsqueeze(-1) + sigma.unsqueeze(-1) * k,
            (-m + s * k).expand(*mu.shape, -1),
            (m + s * k).expand(*mu.shape, -1),
        ],
        dim=-1,
    )
    pts, _ = torch.sort(pts, dim=-1)
    lo, hi = pts[..., :-1].unsqueeze(-1), pts[..., 1:].unsqueeze(-1)
    half = 0.5 * (hi - lo)
    x = lo + half * (_const(_PANEL_X, mu) + 1.0)
    mu_, sd_ = mu[..., None, None], sigma[..., None, None]
    diff = _normal_pdf(x, mu_, sd_) - 0.5 * (_normal_pdf(x, -m, s) + _normal_pdf(x, m, s))
    return (half * _const(_PANEL_W, mu) * diff.abs() ** p).sum((-1, -2))


class NoPrior(BasePrior):
    """No prior term: a plain (deterministic) autoencoder (``prior="none"``)."""

    name = "none"
    stochastic = False

    def __init__(self):
        super().__init__(m=0.0, s=1.0)

    def kl(self, mu, logvar):
        return mu.new_zeros(mu.shape[0])

    def log_prob(self, z):
        msg = "prior='none' (plain autoencoder) has no prior density."
        raise ValueError(msg)


PRIORS = {
    "normal": NormalPrior,
    "dkl": DoublePeakKLPrior,
    "dkl_seed": SeedDoublePeakKLPrior,
    "scaling": ScalingBoundPrior,
    "aw": AWPrior,
    "pw": PWPrior,
    "none": NoPrior,
}


def make_prior(prior, *, m=1.0, s=1.0, p=2.0):
    """Build a prior object from a name in :data:`PRIORS` or return a user object unchanged.

    Parameters
    ----------
    prior : str or object with a ``kl(mu, logvar)`` method
    m, s : float
        Double-peak parameters (ignored by ``"normal"`` and ``"none"``).
    p : float
        Norm order of ``"aw"`` and ``"pw"``.
    """
    if isinstance(prior, str):
        if prior not in PRIORS:
            msg = (
                f"The 'prior' parameter must be one of {sorted(PRIORS)} or an object with a "
                f"kl(mu, logvar) method. Got {prior!r}."
            )
            raise ValueError(msg)
        cls = PRIORS[prior]
        if cls in (NormalPrior, NoPrior):
            return cls()
        if cls in (AWPrior, PWPrior):
            return cls(m=m, s=s, p=p)
        return cls(m=m, s=s)
    if not callable(getattr(prior, "kl", None)):
        msg = (
            "The 'prior' parameter must be a prior name or an object with a kl(mu, logvar) "
            f"method returning one value per sample. Got {prior!r}."
        )
        raise ValueError(msg)
    return prior
