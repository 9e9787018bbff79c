"""Helpers shared by the displays: axes creation and the conversion of cutouts to pictures."""
import numpy as np

__all__ = ["make_rgb"]


def _get_fig_ax(ax=None, **subplots_kw):
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(**subplots_kw)
    else:
        fig = ax.figure
    return fig, ax


def _auto_stretch(intensity, Q):
    """Lupton ``stretch`` from the data: sky noise dim, bright cores near full scale.

    ``asinh(Q * I / stretch) / Q`` reaches 1 (white) for ``I = stretch * sinh(Q) / Q``. The
    stretch is the larger of five times the sky noise of ``I`` (robust MAD estimate: a 1-sigma sky
    fluctuation is shown at about 15% brightness) and the value that puts the 99.5th percentile
    of ``I`` at full brightness (for nearly noiseless images).
    """
    finite = intensity[np.isfinite(intensity)]
    if not finite.size:
        return 1.0
    sigma = 1.4826 * np.median(np.abs(finite - np.median(finite)))
    top = np.percentile(finite, 99.5) * Q / np.sinh(Q)
    stretch = max(5.0 * sigma, top)
    return float(stretch) if np.isfinite(stretch) and stretch > 0 else 1.0


def make_rgb(images, *, rgb_bands=(3, 2, 1), Q=8.0, stretch=None, minimum=0.0):
    """Colour composites of multi-band cutouts with the Lupton et al. (2004) asinh stretch.

    Uses :func:`astropy.visualization.make_lupton_rgb` with the i, r, g bands (indices 3, 2, 1 of
    ugriz) as red, green and blue, the SDSS convention. NaN pixels are shown black.

    Parameters
    ----------
    images : array-like of shape (bands, height, width) or (n_samples, bands, height, width)
        Cutouts in linear flux units (e.g. nanomaggies).
    rgb_bands : tuple of 3 int, default=(3, 2, 1)
        Band indices used as red, green, blue.
    Q : float, default=8.0
        Asinh softening parameter of the Lupton stretch.
    stretch : float, default=None
        Linear stretch of the Lupton mapping. None estimates it per image: five times the sky
        noise of the mean of the three bands (robust MAD), or more for nearly noiseless images
        so that the 99.5th percentile is shown near full brightness.
    minimum : float, default=0.0
        Flux shown black.

    Returns
    -------
    rgb : ndarray of uint8, shape (height, width, 3) or (n_samples, height, width, 3)

    Examples
    --------
    >>> import numpy as np
    >>> from galaxy_learn.plotting import make_rgb
    >>> make_rgb(np.random.default_rng(0).random((2, 5, 16, 16))).shape
    (2, 16, 16, 3)
    """
    from astropy.visualization import make_lupton_rgb

    X = np.asarray(images, dtype=np.float64)
    single = X.ndim == 3
    if single:
        X = X[None]
    if X.ndim != 4:
        msg = f"make_rgb expects images of shape (bands, H, W) or (n, bands, H, W); got {X.shape}."
        raise ValueError(msg)
    rgb_bands = tuple(int(b) for b in rgb_bands)
    if len(rgb_bands) != 3 or max(rgb_bands) >= X.shape[1] or min(rgb_bands) < -X.shape[1]:
        msg = (
            f"The 'rgb_bands' parameter must give 3 band indices valid for {X.shape[1]} band(s). "
            f"Got {rgb_bands}."
        )
        raise ValueError(msg)
    out = np.empty(X.shape[:1] + X.shape[2:] + (3,), dtype=np.uint8)
    for k, img in enumerate(X):
        r, g, b = (np.nan_to_num(img[i], nan=minimum, posinf=minimum, neginf=minimum)
                   for i in rgb_bands)
        s = stretch if stretch is not None else _auto_stretch((r + g + b) / 3 - minimum, Q)
        with np.errstate(invalid="ignore", divide="ignore"):  # zero-flux pixels: 0/0 -> black
            out[k] = make_lupton_rgb(r, g, b, minimum=minimum, stretch=s, Q=Q)
    return out[0] if single else out


def _as_chw(img):
    img = np.asarray(img, dtype=np.float64)
    return img[None] if img.ndim == 2 else img


def _display_image(img, *, rgb_bands=(3, 2, 1), band=None, ref=None):
    """Turn one cutout ``(C, H, W)`` into something ``imshow`` shows well, with its kwargs.

    Five or more bands (ugriz): Lupton composite of i, r, g. Three bands: an RGB picture (e.g.
    Galaxy Zoo JPEGs), scaled to [0, 1] by its own range. Otherwise (or with ``band``): one band
    with an asinh stretch between its 0.5 and 99.5 percentiles. ``ref`` (another cutout) fixes the
    stretch, so that an input and its reconstruction are shown on the same scale.
    """
    from astropy.visualization import AsinhStretch, ImageNormalize, PercentileInterval

    img = _as_chw(img)
    ref = img if ref is None else _as_chw(ref)
    if band is None and img.shape[0] >= 5:
        r, g, b = (np.nan_to_num(ref[i]) for i in rgb_bands)
        stretch = _auto_stretch((r + g + b) / 3, 8.0)
        return make_rgb(img, rgb_bands=rgb_bands, stretch=stretch), {}
    if band is None and img.shape[0] == 3:
        rgb = np.moveaxis(np.nan_to_num(img), 0, -1)
        lo, hi = np.nanmin(ref), np.nanmax(ref)
        return np.clip((rgb - lo) / (hi - lo if hi > lo else 1.0), 0, 1), {}
    b = img.shape[0] // 2 if band is None else band
    finite = ref[b][np.isfinite(ref[b])]
    if finite.size and np.ptp(finite) > 0:
        norm = ImageNormalize(finite, interval=PercentileInterval(99.0), stretch=AsinhStretch(0.1))
    else:
        norm = None
    return img[b], {"cmap": "gray", "norm": norm}


def _show(ax, img, *, rgb_bands=(3, 2, 1), band=None, title=None, ref=None):
    data, kw = _display_image(img, rgb_bands=rgb_bands, band=band, ref=ref)
    ax.imshow(data, origin="lower", interpolation="nearest", **kw)
    ax.set_xticks([])
    ax.set_yticks([])
    if title is not None:
        ax.set_title(str(title), fontsize=8)
