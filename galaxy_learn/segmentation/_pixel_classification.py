"""Per-pixel star / galaxy maps: segmentation x cutout classification (seeds Part 3).

Field -> detected objects (:meth:`HypercolumnSegmenter.detect`) -> a cutout centred on each
object -> any fitted classifier or pipeline with ``predict`` on ``(n, bands, size, size)`` images
(e.g. ``VAEEncoder + Isomap + ThresholdClassifier``, or ``ImageFlattener + PCA +
LogisticRegression``) -> each object's label painted on its pixels. One call:
:func:`pixel_class_map`.
"""
import numpy as np
from sklearn.utils import Bunch

from ..utils import check_images
from ..utils._compat import check_is_fitted

__all__ = ["extract_cutouts", "pixel_class_map"]


def extract_cutouts(image, xy, *, size=64, fill_value=0.0):
    """Square cutouts of ``image`` centred on positions ``xy``.

    Parameters
    ----------
    image : ndarray of shape (bands, H, W)
    xy : array-like of shape (n, 2)
        Centres ``(x, y)`` = (column, row); rounded to the nearest pixel, so the object's pixel
        lands on the cutout's central pixel ``size // 2`` (the convention of centred cutouts).
    size : int, default=64
    fill_value : float, default=0.0
        Value of cutout pixels outside the image (sky-subtracted data: 0 is the sky).

    Returns
    -------
    ndarray of float32, shape (n, bands, size, size)

    Examples
    --------
    >>> import numpy as np
    >>> from galaxy_learn.segmentation import extract_cutouts
    >>> img = np.arange(2 * 10 * 10, dtype="float32").reshape(2, 10, 10)
    >>> cut = extract_cutouts(img, [[3, 4]], size=5)
    >>> cut.shape, bool(cut[0, 0, 2, 2] == img[0, 4, 3])
    ((1, 2, 5, 5), True)
    """
    image = np.asarray(image)
    if image.ndim != 3:
        msg = f"image must be (bands, H, W); got shape {image.shape}."
        raise ValueError(msg)
    size = int(size)
    if size < 1:
        msg = f"The 'size' parameter must be a positive int. Got {size}."
        raise ValueError(msg)
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    C, H, W = image.shape
    out = np.full((len(xy), C, size, size), fill_value, dtype=np.float32)
    half = size // 2
    for k, (x, y) in enumerate(np.rint(xy).astype(int)):
        y0, x0 = y - half, x - half
        sy0, sx0 = max(y0, 0), max(x0, 0)
        sy1, sx1 = min(y0 + size, H), min(x0 + size, W)
        if sy1 <= sy0 or sx1 <= sx0:
            continue
        out[k, :, sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = image[:, sy0:sy1, sx0:sx1]
    return out


def pixel_class_map(field, segmenter, classifier, *, cutout_size=64, fill_value=0.0,
                    batch_size=512):
    """Label every object pixel of a field with its object's predicted class.

    Parameters
    ----------
    field : array-like of shape (bands, H, W) or (1, bands, H, W)
        A field (or a cutout) in the units both models were fitted on.
    segmenter : fitted HypercolumnSegmenter
        Anything with ``detect(X) -> (catalog, labels)`` as :meth:`HypercolumnSegmenter.detect`.
    classifier : fitted estimator with ``predict``
        Takes ``(n, bands, cutout_size, cutout_size)`` cutouts (a pipeline that starts with an
        image transformer, e.g. ``ImageScaler`` or ``ImageFlattener``, or a ``VAEEncoder``).
    cutout_size : int, default=64
        Side of the cutouts, as the classifier was trained on.
    fill_value : float, default=0.0
        Cutout pixels beyond the field edge.
    batch_size : int, default=512
        Cutouts classified at a time (bounded memory for fields with thousands of objects).

    Returns
    -------
    Bunch with
        class_map : ndarray of int, shape (H, W)
            Index into ``classes`` of each pixel's object, ``-1`` on background.
        classes : ndarray
            The class labels (``classifier.classes_`` when available).
        labels : ndarray of int32, shape (H, W)
            Segmentation: 0 background, object ids.
        catalog : pandas.DataFrame
            One row per object (``label``, ``x``, ``y``, ``area``, ``flux``) with its ``class``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.dummy import DummyClassifier
    >>> from galaxy_learn.segmentation import (HypercolumnExtractor, HypercolumnSegmenter,
    ...                                       pixel_class_map)
    >>> rng = np.random.default_rng(0)
    >>> yy, xx = np.mgrid[:48, :48]
    >>> field = rng.normal(size=(1, 1, 48, 48)) + 30 * np.exp(-((yy - 20)**2 + (xx - 25)**2) / 6)
    >>> seg = HypercolumnSegmenter(HypercolumnExtractor(channels=(4, 8), layers=("input", "enc0"),
    ...                            max_epochs=1, device="cpu"), random_state=0).fit(field)
    >>> clf = DummyClassifier(strategy="constant", constant="star")
    >>> clf = clf.fit(np.zeros((2, 1, 16, 16)).reshape(2, -1), ["star", "galaxy"])
    >>> from sklearn.pipeline import make_pipeline
    >>> from galaxy_learn.preprocessing import ImageFlattener
    >>> pipe = make_pipeline(ImageFlattener(), clf).fit(np.zeros((2, 1, 16, 16)), ["star", "galaxy"])
    >>> out = pixel_class_map(field, seg, pipe, cutout_size=16)
    >>> str(out.classes[out.class_map[20, 25]]), int(out.class_map[0, 0])
    ('star', -1)
    """
    X = check_images(field[None] if np.ndim(field) == 3 else field)
    if X.shape[0] != 1:
        msg = f"field must be one image (bands, H, W) or (1, bands, H, W); got shape {np.shape(field)}."
        raise ValueError(msg)
    if not hasattr(classifier, "predict"):
        msg = f"classifier must have a predict method; got {type(classifier).__name__}."
        raise TypeError(msg)
    check_is_fitted(classifier)
    catalog, labels = segmenter.detect(X)
    labels = labels[0]
    xy = catalog[["x", "y"]].to_numpy()
    preds = []
    for start in range(0, len(xy), batch_size):
        cut = extract_cutouts(X[0], xy[start:start + batch_size], size=cutout_size,
                              fill_value=fill_value)
        preds.append(np.asarray(classifier.predict(cut)))
    pred = np.concatenate(preds) if preds else np.zeros(0)
    classes = getattr(classifier, "classes_", None)
    classes = np.unique(pred) if classes is None else np.asarray(classes)
    lookup = {c: i for i, c in enumerate(classes.tolist())}
    missing = [p for p in np.unique(pred).tolist() if p not in lookup]
    if missing:  # predict returned labels outside classes_: append them
        classes = np.concatenate([classes, np.asarray(missing, dtype=classes.dtype)])
        lookup.update({c: len(lookup) + i for i, c in enumerate(missing)})
    index = np.array([lookup[p] for p in pred.tolist()], dtype=np.int64)
    lut = np.full(int(labels.max()) + 1, -1, dtype=np.int64)
    lut[catalog["label"].to_numpy(dtype=int)] = index
    catalog = catalog.assign(**{"class": pred})
    return Bunch(class_map=lut[labels], classes=classes, labels=labels, catalog=catalog)
