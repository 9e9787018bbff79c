"""Fourier-space renderer: Sérsic bulge + disk (or point source) ⊗ PSF ⊗ pixel, sampled exactly.

Each object's image is built from analytic (or tabulated) Fourier transforms::

    F(k) = sum_c flux_c [B_c S_nb(k; r_b, q, theta) + (1 - B_c) S_1(k; r_d, q, theta)]
           × PSF_c(|k|) × sinc(k_x / 2pi) sinc(k_y / 2pi) × exp(-i k · x0)

The ``sinc`` factors are the 1-pixel box: the image is the profile *integrated over each pixel*
(exact sub-pixel accuracy, like GalSim's default ``drawImage``), and ``exp(-i k · x0)`` places the
centre at any sub-pixel position. The transform is evaluated up to ``oversample`` times the pixel
Nyquist frequency and inverted with one real FFT on a grid ``oversample`` times finer than the
pixels; keeping every ``oversample``-th sample is the exact pixel-centre sampling (it folds the
frequencies above Nyquist back, i.e. it aliases them as real pixels do). With ``oversample=2``
the neglected power beyond twice Nyquist is < 1e-4 of the total for any FWHM >= 1.5 px (0.6").
Images are periodic over the render box (light that would fall off one edge wraps to the
other): galaxies with more than 0.5% of their light beyond the stamp are rendered in a 2x or 4x
box and cropped (``pad=True``), and fields size each object's stamp to its light profile.

Everything is vectorised over a batch of objects (float32 / complex64, ``scipy.fft`` with
``workers``).
"""
import functools

import numpy as np
from scipy import fft as sp_fft

from ._profiles import sersic_enclosed_fraction, sersic_fourier
from ._psf import DEFAULT_BETA, psf_fourier

__all__ = ["render_stamps"]


# Objects whose narrowest PSF is at least this wide (pixels) are rendered without oversampling:
# the transfer function beyond the pixel Nyquist frequency is then < 1.6e-3 (Moffat, beta=4.765)
# of its peak, and the aliased light it would carry is < 1e-4 of the peak pixel.
_OVERSAMPLE_FWHM = 3.0
# Transfer functions are tabulated on a grid of FWHM (2% steps: linear interpolation error
# < 1e-4) for render boxes up to this many Fourier cells; larger boxes (rare, big bright
# galaxies) evaluate them directly.
_TABLE_MAX_CELLS = 256 * 129
_FWHM_STEP = 0.02
# Galaxies whose light beyond the stamp edge exceeds this fraction are rendered in a 2x or 4x
# larger periodic box and cropped, so their wings do not wrap around onto the stamp.
_WRAP_TOL = 5e-3
_FWHM_GRID = np.exp(np.arange(np.log(0.5), np.log(40.0), _FWHM_STEP))


@functools.lru_cache(maxsize=32)
def _grids(size, oversample):
    m = oversample * size
    ky = (2 * np.pi * sp_fft.fftfreq(m, d=1.0 / oversample)).astype(np.float32)
    kx = (2 * np.pi * sp_fft.rfftfreq(m, d=1.0 / oversample)).astype(np.float32)
    pix = (np.sinc(ky / (2 * np.pi))[:, None] * np.sinc(kx / (2 * np.pi))[None, :]).astype(
        np.float32
    )
    kabs = np.sqrt(ky[:, None] ** 2 + kx[None, :] ** 2).astype(np.float32)
    return ky, kx, pix, kabs


@functools.lru_cache(maxsize=16)
def _psf_table(size, oversample, psf, beta):
    _, _, _, kabs = _grids(size, oversample)
    if kabs.size > _TABLE_MAX_CELLS:
        return None
    return np.stack([psf_fourier(kabs, f, psf=psf, beta=beta) for f in _FWHM_GRID])


@functools.lru_cache(maxsize=64)
def _psf_single(size, oversample, fwhm, psf, beta):
    _, _, _, kabs = _grids(size, oversample)
    return psf_fourier(kabs, np.float32(fwhm), psf=psf, beta=beta)


def _psf_batch(size, oversample, fwhm, psf, beta):
    """Transfer functions for a batch of FWHM values: (b, M, M//2+1) float32."""
    if fwhm.size and np.all(fwhm == fwhm[0]):  # one exposure (a field): one transfer function
        single = _psf_single(size, oversample, float(fwhm[0]), psf, beta)
        return np.broadcast_to(single, (fwhm.size,) + single.shape).copy()
    inside = fwhm.size and _FWHM_GRID[0] <= fwhm.min() and fwhm.max() <= _FWHM_GRID[-2]
    table = _psf_table(size, oversample, psf, beta) if inside else None
    if table is None:
        _, _, _, kabs = _grids(size, oversample)
        return psf_fourier(kabs[None], fwhm[:, None, None], psf=psf, beta=beta)
    u = (np.log(np.clip(fwhm, _FWHM_GRID[0], _FWHM_GRID[-2])) - np.log(_FWHM_GRID[0])) / _FWHM_STEP
    i = np.minimum(u.astype(np.int64), _FWHM_GRID.size - 2)
    w = (u - i).astype(np.float32)[:, None, None]
    return table[i] * (1.0 - w) + table[i + 1] * w


def _fold(spec, size):
    """Fold a half-plane spectrum sampled to twice the pixel Nyquist onto the pixel grid.

    Rows: frequencies ``y`` and ``y + N`` alias. Columns: the fine half-plane holds
    ``k_x = 0 … N``; coarse column ``j`` receives ``k_x = j`` and ``k_x = j - N``, the latter being
    the complex conjugate of the fine column ``N - j`` at row ``-y``.
    """
    n = size
    folded = spec[..., :n, :] + spec[..., n:, :]
    neg = folded[..., :, n // 2:][..., ::-1]  # columns N, N-1, ..., N/2
    neg = np.roll(neg[..., ::-1, :], 1, axis=-2)  # rows -y (mod N)
    out = folded[..., : n // 2 + 1]
    out += np.conj(neg)
    return out


def _galaxy_fourier(ky, kx, r_bulge, r_disk, q, theta, n_bulge):
    """Bulge and disk transforms (real, flux-normalised) for a batch: two (B, M, M//2+1) arrays."""
    c = np.cos(theta).astype(np.float32)[:, None, None]
    s = np.sin(theta).astype(np.float32)[:, None, None]
    q = q.astype(np.float32)[:, None, None]
    kxb = kx[None, None, :]
    kyb = ky[None, :, None]
    k_major = c * kxb + s * kyb
    k_minor = c * kyb - s * kxb
    s2 = k_major * k_major / q + q * (k_minor * k_minor)
    rb2 = (r_bulge.astype(np.float32) ** 2)[:, None, None]
    rd2 = (r_disk.astype(np.float32) ** 2)[:, None, None]
    bulge = sersic_fourier(n_bulge, s2 * rb2)
    disk = sersic_fourier(1, s2 * rd2)
    return bulge, disk


def render_stamps(
    size,
    flux,
    fwhm,
    *,
    dx=None,
    dy=None,
    r_bulge=None,
    r_disk=None,
    bulge_fraction=None,
    q=None,
    theta=None,
    n_bulge=4.0,
    psf="moffat",
    beta=DEFAULT_BETA,
    oversample="auto",
    batch_size=64,
    workers=None,
    pad=True,
):
    """Render noiseless, pixel-integrated stamps of point sources and bulge + disk galaxies.

    Parameters
    ----------
    size : int
        Stamp side in pixels (even sizes are fastest).
    flux : ndarray of shape (n, C)
        Total flux per band (any unit; the stamps sum to it up to light beyond the stamp).
    fwhm : ndarray of shape (n, C)
        PSF FWHM per object and band, pixels.
    dx, dy : ndarray of shape (n,), default=0
        Centre offsets in pixels from pixel ``(size // 2, size // 2)``; ``dx`` along columns (x),
        ``dy`` along rows (y). Pixel ``i`` covers ``[i - 0.5, i + 0.5]``.
    r_bulge, r_disk : ndarray of shape (n,), default=0
        Circularised half-light radii (pixels) of the de Vaucouleurs (``n_bulge``) and exponential
        components. Objects with both equal to 0 are point sources.
    bulge_fraction : ndarray of shape (n, C), default=0
        Fraction of each band's flux in the bulge.
    q : ndarray of shape (n,), default=1
        Axis ratio b/a shared by both components.
    theta : ndarray of shape (n,), default=0
        Position angle of the major axis in radians, counter-clockwise from the +x (column) axis
        towards +y (increasing row).
    oversample : {"auto", 1, 2}, default="auto"
        Frequency extent, in units of the pixel Nyquist frequency, of the evaluated transform;
        "auto" uses 2 for objects with a PSF FWHM below 3 px in some band.
    pad : bool, default=True
        Render galaxies with significant light beyond the stamp in a larger periodic box (2x or
        4x) and crop, instead of letting their wings wrap around.

    Returns
    -------
    stamps : ndarray of shape (n, C, size, size), float32
    """
    flux = np.asarray(flux, dtype=np.float32)
    if flux.ndim == 1:
        flux = flux[:, None]
    n, n_bands = flux.shape
    fwhm = np.broadcast_to(np.asarray(fwhm, dtype=np.float32), (n, n_bands))
    zeros = np.zeros(n, dtype=np.float32)
    dx = zeros if dx is None else np.asarray(dx, dtype=np.float64)
    dy = zeros if dy is None else np.asarray(dy, dtype=np.float64)
    r_bulge = zeros if r_bulge is None else np.asarray(r_bulge, dtype=np.float32)
    r_disk = zeros if r_disk is None else np.asarray(r_disk, dtype=np.float32)
    bulge_fraction = (
        np.zeros((n, n_bands), np.float32)
        if bulge_fraction is None
        else np.broadcast_to(np.asarray(bulge_fraction, dtype=np.float32), (n, n_bands))
    )
    q = np.ones(n, np.float32) if q is None else np.asarray(q, dtype=np.float32)
    theta = zeros if theta is None else np.asarray(theta, dtype=np.float32)
    workers = workers if workers is not None else -1

    is_galaxy = (r_bulge > 0) | (r_disk > 0)
    out = np.empty((n, n_bands, size, size), dtype=np.float32)
    if oversample == "auto":
        os_obj = np.where(fwhm.min(axis=1) < _OVERSAMPLE_FWHM, 2, 1)
    elif oversample in (1, 2):
        os_obj = np.full(n, int(oversample))
    else:
        msg = f"oversample must be 1, 2 or 'auto'. Got {oversample!r}."
        raise ValueError(msg)
    render_size = _render_sizes(size, is_galaxy, r_bulge, r_disk, bulge_fraction, q, dx, dy,
                                n_bulge, pad)
    for os_, rsize in sorted(set(zip(os_obj.tolist(), render_size.tolist()))):
        members = np.flatnonzero((os_obj == os_) & (render_size == rsize))
        _render_group(out, members, size, rsize, os_, flux, fwhm, dx, dy, r_bulge, r_disk,
                      bulge_fraction, q, theta, is_galaxy, n_bulge, psf, beta, batch_size,
                      workers)
    return out


def _render_sizes(size, is_galaxy, r_bulge, r_disk, bulge_fraction, q, dx, dy, n_bulge, pad):
    """Per object, the (periodic) render box: ``size``, or 2x / 4x when the galaxy's wings would
    otherwise wrap more than ``_WRAP_TOL`` of its light around the stamp."""
    sizes = np.full(is_galaxy.shape, size + size % 2)  # FFT boxes are even (then cropped)
    if not pad or not is_galaxy.any():
        return sizes
    g = np.flatnonzero(is_galaxy)
    bf = bulge_fraction[g].max(axis=1)
    for factor in (1, 2):
        radius = factor * size / 2.0 - 1.0 - np.maximum(np.abs(dx[g]), np.abs(dy[g]))
        rho = radius * np.sqrt(q[g])  # circularised radius reached along the major axis
        with np.errstate(divide="ignore", invalid="ignore"):
            outside = bf * (1 - sersic_enclosed_fraction(n_bulge, np.where(
                r_bulge[g] > 0, rho / r_bulge[g], np.inf))) + (1 - bf) * (
                1 - sersic_enclosed_fraction(1.0, np.where(r_disk[g] > 0, rho / r_disk[g], np.inf)))
        grow = outside > _WRAP_TOL
        sizes[g[grow]] = 2 * factor * (size + size % 2)
        g, bf = g[grow], bf[grow]
        if not g.size:
            break
    return sizes


def _render_group(out, members, size, rsize, os_, flux, fwhm, dx, dy, r_bulge, r_disk,
                  bulge_fraction, q, theta, is_galaxy, n_bulge, psf, beta, batch_size, workers):
    """Render ``members`` in a periodic ``rsize`` box at oversampling ``os_``; crop to ``size``."""
    n_bands = flux.shape[1]
    centre = rsize // 2
    lo = centre - size // 2
    batch_size = max(1, batch_size * size * size // (rsize * rsize))
    ky, kx, pix, _ = _grids(rsize, os_)
    for start in range(0, members.size, batch_size):
        sel = members[start:start + batch_size]
        phase_y = np.exp(-1j * ky[None, :] * (centre + dy[sel])[:, None]).astype(np.complex64)
        phase_x = np.exp(-1j * kx[None, :] * (centre + dx[sel])[:, None]).astype(np.complex64)
        phase = phase_y[:, :, None] * (phase_x[:, None, :] * pix[None])
        gal = np.flatnonzero(is_galaxy[sel])
        if gal.size:
            g = sel[gal]
            bulge, disk = _galaxy_fourier(ky, kx, r_bulge[g], r_disk[g], q[g], theta[g], n_bulge)
        spec = np.empty((sel.size, n_bands) + phase.shape[1:], dtype=np.complex64)
        for c in range(n_bands):
            amp = _psf_batch(rsize, os_, fwhm[sel, c], psf, beta)
            amp *= flux[sel, c][:, None, None]
            if gal.size:
                bf = bulge_fraction[g, c][:, None, None]
                amp[gal] *= bf * bulge + (1.0 - bf) * disk
            np.multiply(amp, phase, out=spec[:, c])
        if os_ > 1:
            spec = _fold(spec, rsize)
        img = sp_fft.irfft2(spec, s=(rsize, rsize), workers=workers)
        out[sel] = img[..., lo:lo + size, lo:lo + size]
