"""Tiling of large fields with overlap, and seamless stitching.

A fully convolutional network sees, at each output pixel, only a window of the input (its
receptive field). Cutting a field into tiles whose *kept* part is surrounded by a margin at least
as wide as that radius, and pasting back only the kept parts, therefore reproduces the untiled
result exactly: there is no seam to blend. Tile origins are kept on a grid of ``align`` pixels so
that the networks' down-sampled grids coincide with those of the whole field.

Memory is bounded by one tile (plus the output map): a 2048x1489 5-band SDSS frame never has its
per-pixel features materialised at once.
"""
import numpy as np

__all__ = ["apply_tiled", "iter_tiles"]


def iter_tiles(shape, tile_size, overlap, *, align=1):
    """Yield the tiles covering an image of ``shape=(H, W)``.

    Parameters
    ----------
    shape : tuple of int
        ``(H, W)``.
    tile_size : int
        Size of the kept (inner) part of a tile; rounded up to a multiple of ``align``.
    overlap : int
        Margin added on every side of the kept part (clipped at the image edges); rounded up to a
        multiple of ``align``.
    align : int, default=1
        Tile origins are multiples of ``align`` (``2**(depth-1)`` for a network with ``depth``
        levels).

    Yields
    ------
    outer : tuple of slice
        ``(rows, cols)`` of the tile with its margins, in image coordinates.
    inner : tuple of slice
        ``(rows, cols)`` of the kept part, in image coordinates.
    inner_in_outer : tuple of slice
        The kept part in the tile's own coordinates.
    """
    H, W = (int(s) for s in shape)
    align = max(int(align), 1)
    tile = int(np.ceil(max(int(tile_size), 1) / align) * align)
    margin = int(np.ceil(max(int(overlap), 0) / align) * align)
    for y0 in range(0, H, tile):
        y1 = min(y0 + tile, H)
        oy0, oy1 = max(y0 - margin, 0), min(y1 + margin, H)
        for x0 in range(0, W, tile):
            x1 = min(x0 + tile, W)
            ox0, ox1 = max(x0 - margin, 0), min(x1 + margin, W)
            yield (
                (slice(oy0, oy1), slice(ox0, ox1)),
                (slice(y0, y1), slice(x0, x1)),
                (slice(y0 - oy0, y1 - oy0), slice(x0 - ox0, x1 - ox0)),
            )


def apply_tiled(fn, image, *, tile_size=512, overlap=32, align=1, dtype=None):
    """Apply a per-pixel map ``fn`` to a large ``(C, H, W)`` image tile by tile, stitched.

    Parameters
    ----------
    fn : callable
        Maps a tile ``(C, h, w)`` to an array ``(h, w, ...)`` (per-pixel output).
    image : ndarray of shape (C, H, W)
        May be memory-mapped; one tile is read at a time.
    tile_size, overlap, align : int
        See :func:`iter_tiles`. ``overlap`` must cover ``fn``'s receptive-field radius for the
        result to equal ``fn(image)`` exactly.
    dtype : numpy dtype, default=None
        Output dtype (default: that of the first tile's output).

    Returns
    -------
    ndarray of shape (H, W, ...)

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import ndimage
    >>> from galaxy_learn.segmentation import apply_tiled
    >>> img = np.random.default_rng(0).normal(size=(1, 100, 70))
    >>> smooth = lambda t: ndimage.uniform_filter(t[0], 5, mode="constant")
    >>> out = apply_tiled(smooth, img, tile_size=32, overlap=4)
    >>> bool(np.allclose(out, smooth(img)))
    True
    """
    H, W = image.shape[-2:]
    out = None
    for outer, inner, inner_local in iter_tiles((H, W), tile_size, overlap, align=align):
        res = np.asarray(fn(np.asarray(image[(slice(None),) + outer])))
        if out is None:
            out = np.zeros((H, W) + res.shape[2:], dtype=dtype or res.dtype)
        out[inner] = res[inner_local]
    return out
