"""Galaxy Zoo JPG/PNG cutouts and their vote-fraction catalogues: :func:`load_galaxy_zoo`,
:func:`load_galaxy_zoo_catalog` (Pillow, an optional dependency, imported when first needed).
"""
import os
from pathlib import Path

import numpy as np
import pandas as pd

from ._files import _map

__all__ = ["GALAXY_ZOO_LABELS", "load_galaxy_zoo", "load_galaxy_zoo_catalog"]


#: Kaggle Galaxy Zoo decision tree, question 1, and the names used by seed 004.
GALAXY_ZOO_LABELS = {
    "Class1.1": "elliptical",  # "smooth"
    "Class1.2": "spiral",  # "features or disk"
    "Class1.3": "irregular",  # "star or artifact"
}


def _import_pillow():
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError as exc:  # pragma: no cover - Pillow is in the "images" extra
        msg = "Reading JPG/PNG images needs Pillow: pip install 'galaxy_learn[images]'."
        raise ImportError(msg) from exc
    return Image, UnidentifiedImageError


def _read_jpg(path, image_size, crop):
    Image, UnidentifiedImageError = _import_pillow()

    try:
        with Image.open(path) as img:
            width, height = img.size
            side = min(width, height) if crop is None else min(crop, width, height)
            # JPEG draft mode decodes at a reduced scale (1/2, 1/4, 1/8) when that still leaves
            # at least image_size pixels across the crop: much faster, and it averages pixels.
            scale = max(1, side // image_size)
            img.draft("RGB", (max(1, width // scale), max(1, height // scale)))
            factor = img.size[0] / width
            img = img.convert("RGB")
            side_d = side * factor
            left = (img.size[0] - side_d) / 2
            top = (img.size[1] - side_d) / 2
            img = img.resize(
                (image_size, image_size),
                resample=Image.Resampling.BILINEAR,
                box=(left, top, left + side_d, top + side_d),
                reducing_gap=2.0,
            )
            arr = np.asarray(img, dtype=np.float32) / 255.0
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError) as exc:
        msg = f"Could not read image {str(path)!r}: {exc}"
        raise ValueError(msg) from exc
    return arr.transpose(2, 0, 1)


def load_galaxy_zoo_catalog(
    catalog,
    *,
    image_column="path",
    vote_columns=("Class1.1", "Class1.2", "Class1.3"),
    label_names=("elliptical", "spiral", "irregular"),
    base_dir=None,
    image_size=64,
    crop=None,
    drop_irregular=False,
    n_samples=None,
    n_jobs=None,
):
    """Load galaxy images listed in a table with vote-fraction columns (Galaxy Zoo style).

    Each label is the name of the vote column with the largest fraction (ties go to the first
    column). Images are read with Pillow, converted to RGB, centre-cropped to a square of side
    ``crop`` (default the full short side), resized to ``image_size`` (bilinear, after JPEG
    draft-mode reduction) and scaled to [0, 1].

    Parameters
    ----------
    catalog : str, path or pandas.DataFrame
        A CSV file or DataFrame with an image path column and vote-fraction columns.
    image_column : str, default="path"
        Column with the image paths (relative to ``base_dir``, or to the CSV's folder).
    vote_columns : sequence of str, default=("Class1.1", "Class1.2", "Class1.3")
        Vote-fraction columns, one per label.
    label_names : sequence of str, default=("elliptical", "spiral", "irregular")
        Label of each vote column.
    base_dir : str or path, default=None
        Folder that relative image paths are relative to.
    image_size : int, default=64
        Output side in pixels.
    crop : int, default=None
        Side (in original pixels) of the central square kept before resizing; None keeps the
        whole short side. On the 424x424 Kaggle images the galaxy fills roughly the central
        200 pixels, so ``crop=212`` is a common choice.
    drop_irregular : bool, default=False
        Drop objects whose label is ``"irregular"`` (the last label by default).
    n_samples : int, default=None
        Read only the first ``n_samples`` rows (after ``drop_irregular``).
    n_jobs : int, default=None
        Decoder threads.

    Returns
    -------
    X : ndarray of shape (n_samples, 3, image_size, image_size), float32 in [0, 1]
    y : ndarray of str of shape (n_samples,)
    meta : pandas.DataFrame
        The catalogue rows used (index reset), with the resolved ``file`` path.
    """
    if isinstance(catalog, (str, os.PathLike)):
        root = Path(catalog).parent
        table = pd.read_csv(catalog)
    else:
        root = Path(".")
        table = pd.DataFrame(catalog)
    base = Path(base_dir) if base_dir is not None else root
    vote_columns, label_names = list(vote_columns), list(label_names)
    if len(vote_columns) != len(label_names):
        msg = (
            f"vote_columns has {len(vote_columns)} entries but label_names has "
            f"{len(label_names)}; give one label per vote column."
        )
        raise ValueError(msg)
    missing = [c for c in [image_column, *vote_columns] if c not in table.columns]
    if missing:
        msg = f"The catalog lacks column(s) {missing}; it has {list(table.columns)[:12]}."
        raise ValueError(msg)
    if int(image_size) < 1:
        msg = f"The 'image_size' parameter must be a positive integer. Got {image_size!r}."
        raise ValueError(msg)
    votes = table[vote_columns].to_numpy(dtype=np.float64)
    if not np.all(np.isfinite(votes)):
        bad = int(np.count_nonzero(~np.isfinite(votes).all(axis=1)))
        msg = f"The vote-fraction columns {vote_columns} have NaN/inf in {bad} row(s)."
        raise ValueError(msg)
    y = np.asarray(label_names, dtype=str)[np.argmax(votes, axis=1)]
    keep = np.ones(len(table), dtype=bool)
    if drop_irregular:
        keep &= y != "irregular"
    table = table.loc[keep].reset_index(drop=True)
    y = y[keep]
    if n_samples is not None:
        table, y = table.iloc[: int(n_samples)].reset_index(drop=True), y[: int(n_samples)]
    if len(table) == 0:
        msg = "No galaxies left to load (empty catalog after drop_irregular / n_samples)."
        raise ValueError(msg)
    files = [
        p if Path(p).is_absolute() else base / p for p in table[image_column].astype(str)
    ]
    missing = [str(f) for f in files if not Path(f).is_file()]
    if missing:
        msg = (
            f"{len(missing)} image file(s) listed in the catalog are missing, e.g. "
            f"{missing[0]!r}."
        )
        raise FileNotFoundError(msg)
    images = _map(lambda f: _read_jpg(f, int(image_size), crop), files, n_jobs)
    X = np.stack(images).astype(np.float32, copy=False)
    meta = table.copy()
    meta["file"] = [str(f) for f in files]
    return X, y, meta


def load_galaxy_zoo(
    images_dir,
    solutions_csv,
    *,
    image_size=64,
    crop=None,
    drop_irregular=False,
    n_samples=None,
    n_jobs=None,
):
    """Load the Kaggle "Galaxy Zoo - The Galaxy Challenge" training set.

    Format: ``images_dir`` holds one JPG per galaxy named ``{GalaxyID}.jpg`` (424x424 RGB);
    ``solutions_csv`` is ``training_solutions_rev1.csv`` with a ``GalaxyID`` column and the vote
    fractions ``Class1.1`` ... ``Class11.6`` of the Galaxy Zoo 2 decision tree.

    Labels follow seed 004: the answer with the largest vote fraction to the tree's first
    question, "Is the galaxy simply smooth and rounded, with no sign of a disk?":

    * ``Class1.1`` (smooth) → ``"elliptical"``
    * ``Class1.2`` (features or disk) → ``"spiral"`` (includes edge-on disks, bars, mergers)
    * ``Class1.3`` (star or artifact) → ``"irregular"``: seed 004's name for this rare class
      (under 1% of the set); these are not morphologically irregular galaxies but stars and
      artifacts, hence ``drop_irregular`` (seed 004 drops them).

    Ties go to the first column. See :func:`load_galaxy_zoo_catalog` for the image processing.

    Parameters
    ----------
    images_dir : str or path
        Folder with ``{GalaxyID}.jpg`` files.
    solutions_csv : str, path or pandas.DataFrame
        The vote-fraction table.
    image_size : int, default=64
        Output side in pixels.
    crop : int, default=None
        Central square (original pixels) kept before resizing; None keeps the whole image.
    drop_irregular : bool, default=False
        Drop the ``"irregular"`` (star / artifact) objects, as seed 004 does.
    n_samples : int, default=None
        Read only the first ``n_samples`` rows.
    n_jobs : int, default=None
        Decoder threads.

    Returns
    -------
    X : ndarray of shape (n_samples, 3, image_size, image_size), float32 in [0, 1]
    y : ndarray of str
        ``"elliptical"``, ``"spiral"`` or ``"irregular"``.
    meta : pandas.DataFrame
        ``GalaxyID``, the vote fractions of the CSV and ``file``.

    Examples
    --------
    >>> import numpy as np, pandas as pd, tempfile, os
    >>> from PIL import Image
    >>> from galaxy_learn.datasets import load_galaxy_zoo
    >>> d = tempfile.mkdtemp()
    >>> Image.new("RGB", (424, 424), (255, 0, 0)).save(os.path.join(d, "100008.jpg"))
    >>> sol = pd.DataFrame({"GalaxyID": [100008], "Class1.1": [0.2], "Class1.2": [0.7],
    ...                     "Class1.3": [0.1]})
    >>> X, y, meta = load_galaxy_zoo(d, sol, image_size=32)
    >>> X.shape, y.tolist()
    ((1, 3, 32, 32), ['spiral'])
    """
    if isinstance(solutions_csv, pd.DataFrame):
        table = solutions_csv.copy()
    else:
        table = pd.read_csv(solutions_csv)
    if "GalaxyID" not in table.columns:
        msg = f"The solutions table has no 'GalaxyID' column; columns: {list(table.columns)[:8]}."
        raise ValueError(msg)
    table["path"] = [f"{int(g)}.jpg" for g in table["GalaxyID"]]
    X, y, meta = load_galaxy_zoo_catalog(
        table,
        image_column="path",
        vote_columns=list(GALAXY_ZOO_LABELS),
        label_names=list(GALAXY_ZOO_LABELS.values()),
        base_dir=images_dir,
        image_size=image_size,
        crop=crop,
        drop_irregular=drop_irregular,
        n_samples=n_samples,
        n_jobs=n_jobs,
    )
    return X, y, meta.drop(columns="path")
