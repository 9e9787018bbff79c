"""Rescale cutouts so that every image's point-spread function has the same width."""
import numpy as np
import torch

from ..utils import check_psf_fwhm, iter_chunks

# check_psf_fwhm is galaxy_learn.utils.check_psf_fwhm, re-exported for its former import path.
__all__ = ["check_psf_fwhm", "psf_rescale"]

_CHUNK = 1024
_LANCZOS_A = 3


def _lanczos_matrices(zoom, n):
    """Resampling matrices ``(k, n, n)``: output pixel ``i`` from input pixels about the centre.

    Output pixel ``i`` lies at input position ``c + (i - c) / zoom`` (``c`` the central pixel).
    Weights are a Lanczos-3 kernel, stretched by ``1 / zoom`` when shrinking (``zoom < 1``) so
    that it also low-passes (no aliasing), normalised over the infinite pixel grid — so flux
    outside the stamp counts as zero rather than being extrapolated.
    """
    a = _LANCZOS_A
    c = (n - 1) / 2.0
    pos = c + (torch.arange(n, dtype=torch.float64) - c)[None, :] / zoom[:, None]
    s = torch.clamp(zoom, max=1.0)[:, None, None]

    # the kernel's support around each position: 2k + 2 pixels (some outside the stamp)
    k = int(np.ceil(a / float(s.min())))
    idx = torch.floor(pos)[:, :, None] + torch.arange(-k, k + 2, dtype=torch.float64)
    d = (pos[:, :, None] - idx) * s
    w = torch.where(d.abs() < a, torch.sinc(d) * torch.sinc(d / a), torch.zeros((), dtype=d.dtype))
    w = w / w.sum(-1, keepdim=True)  # normalised over every pixel, inside the stamp or not
    inside = (idx >= 0) & (idx < n)
    out = torch.zeros(zoom.shape[0], n, n + 1, dtype=torch.float64)
    out.scatter_add_(2, torch.where(inside, idx, float(n)).long(), torch.where(inside, w, 0.0))
    return out[:, :, :n]


def psf_rescale(X, psf_fwhm, target_fwhm, *, chunk_size=_CHUNK):
    """Resample each cutout about its centre so that its PSF FWHM becomes ``target_fwhm``.

    A cutout observed in seeing of FWHM ``f`` is magnified by ``z = target_fwhm / f`` and
    divided by ``z**2``, so that the total flux is kept. Afterwards every point source has the
    same apparent width, and an object's apparent size measures its size *relative to the PSF*
    — the quantity that separates stars from galaxies (as in SDSS's ``psfMag − cModelMag`` or
    DES's ``spread_model``). Exact for PSFs of one shape family (Moffat or Gaussian of a fixed
    index) whose width alone varies.

    The resampling is separable Lanczos-3 (the kernel of SWarp and of most survey coadds),
    widened by ``1/z`` when shrinking so that it low-passes as it decimates; flux outside the
    stamp counts as zero. Measured on pixel-integrated Gaussians (``tests/test_psf_rescale.py``):
    flux kept to 1 % and FWHM to 3 % for seeing ratios 0.65–1.7 and widths ≥ 2.5 px (bilinear
    interpolation blurred a 3 → 4.5 px star to 4.85 px; bicubic without low-pass lost 5 % of the
    flux of a 2.8 px star shrunk by 0.9).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_bands, height, width)
        Images, linear flux units, sky-subtracted, centred on the object.
    psf_fwhm : array-like of shape (n_samples,) or (n_samples, n_bands)
        PSF FWHM of each cutout (or of each band of each cutout), in the same unit as
        ``target_fwhm`` (pixels or arcsec).
    target_fwhm : float or array-like of shape (n_bands,)
        FWHM after resampling (one for every band, or one per band), in the unit of
        ``psf_fwhm``; typically the median seeing of the training set.
    chunk_size : int, default=1024
        Images resampled at a time.

    Returns
    -------
    X_out : ndarray of float32, same shape as ``X``
        A new array; ``X`` is not modified. Images already at the target width are copied
        unchanged. An output pixel that draws on a non-finite input pixel (with a weight above
        1e-3) is NaN; the others are computed from the finite pixels.
    """
    X = np.asarray(X)
    if X.ndim != 4:
        msg = f"psf_rescale expects images of shape (n_samples, n_bands, height, width); got {X.shape}."
        raise ValueError(msg)
    n, b, h, w = X.shape
    fwhm = check_psf_fwhm(psf_fwhm, n, b)
    target = np.asarray(target_fwhm, dtype=float) if not isinstance(target_fwhm, str) else None
    if (target is None or target.ndim > 1 or (target.ndim == 1 and target.shape != (b,))
            or not np.all(np.isfinite(target)) or np.any(target <= 0)):
        msg = (
            f"target_fwhm must be a positive finite number or an array of {b} (one per band); "
            f"got {target_fwhm!r}."
        )
        raise ValueError(msg)
    ratio = target / fwhm
    if ratio.min() < 0.1 or ratio.max() > 10:
        msg = (
            f"target_fwhm / psf_fwhm ranges from {ratio.min():.3g} to {ratio.max():.3g}; a seeing "
            "ratio beyond 10 is not physical — are psf_fwhm and target_fwhm in the same unit "
            "(pixels or arcsec)?"
        )
        raise ValueError(msg)
    out = np.empty(X.shape, dtype=np.float32)
    for start, chunk in iter_chunks(X, chunk_size, dtype=np.float32):
        m = len(chunk)
        xb = torch.from_numpy(chunk).reshape(m * b, h, w)
        zoom = torch.as_tensor(ratio[start:start + m], dtype=torch.float64).reshape(m * b)
        ay = _lanczos_matrices(zoom, h).float()
        ax = ay if w == h else _lanczos_matrices(zoom, w).float()
        bad = ~torch.isfinite(xb)
        res = ay @ torch.where(bad, 0.0, xb) @ ax.transpose(1, 2)
        if bad.any():
            reach = ay.abs() @ bad.float() @ ax.abs().transpose(1, 2)
            res[reach > 1e-3] = float("nan")
        res = res / (zoom.float() ** 2)[:, None, None]
        same = zoom == 1.0  # already at the target width: kept bit for bit
        res[same] = xb[same]
        out[start:start + m] = res.reshape(m, b, h, w).numpy()
    return out
