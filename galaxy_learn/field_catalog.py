"""Real frames in, catalogue out: detect, measure and classify the objects of survey fields.

For each field (one calibrated frame per band, each with its WCS):

1. the frames are read and aligned through their WCS (:class:`~galaxy_learn.datasets.SurveyField`);
2. objects are detected on the reference band with the calibrated detection of
   :class:`~galaxy_learn.segmentation.HypercolumnSegmenter` (background and noise measured,
   matched filter, deblending) — its label map is the footprint of each object;
3. each object is measured in every band at its own position in that band: aperture flux
   (radius twice the band's PSF FWHM) in the survey's units and its AB magnitude, plus the
   flags ``edge`` (stamp leaves a frame), ``masked`` (NaN pixels), ``saturated``;
4. each object is classified star / galaxy without labels: by default (``model="auto"``), on
   a field the SDSS-like simulator can render, by a
   :class:`~galaxy_learn.classification.MatchedSimulationClassifier` (a classifier trained on
   simulations matched to the field's PSF and noise: amortised inference; gradient boosting on
   growth curves and spread_model by default, or a CNN), elsewhere by the mission line
   ``Pipeline([VAEEncoder(), Isomap(n_components=1), ThresholdClassifier()])`` fitted on the
   field's own stamps; or by a saved model;
5. the catalogue (FITS or CSV), a per-pixel class map (FITS carrying the reference band's WCS:
   0 background, 1 galaxy, 2 star) and a quick-look PNG (the field's ``make_lupton_rgb``
   composite with each object's outline coloured by its class) are written.

:func:`catalog_fields` runs many fields, one in memory at a time (or in parallel through joblib,
e.g. ``with joblib.parallel_config(backend="dask")``); a field that fails is reported and
skipped, never losing the others.
"""
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["CLASS_CODES", "catalog_field", "catalog_fields", "write_field_catalog"]

#: Values of the per-pixel class map.
CLASS_CODES = {"background": 0, "galaxy": 1, "star": 2}
_CATALOG_SUFFIXES = (".fits", ".csv")


def _line(class_prior, random_state, verbose):
    from sklearn.manifold import Isomap
    from sklearn.pipeline import Pipeline

    from .classification import ThresholdClassifier
    from .encoders import VAEEncoder

    return Pipeline([
        ("vaeencoder", VAEEncoder(random_state=random_state, verbose=verbose)),
        ("isomap", Isomap(n_components=1)),
        ("thresholdclassifier", ThresholdClassifier(class_prior=class_prior,
                                                    classes=("galaxy", "star"))),
    ])


def _simulation_model(bands, class_prior, random_state, verbose, classifier="boosting",
                      n_simulated=None, mag_slope=None, max_epochs=None, channels=None,
                      n_jobs=-1):
    """``model="simulation"``: a :class:`~galaxy_learn.classification.MatchedSimulationClassifier`
    for the field's bands, its log-odds cut at ``class_prior`` ("auto": the prior-shift EM
    estimate; the score's two-component mixture, ThresholdClassifier's own "auto", misplaces
    it on these log-odds; user guide, "Training on simulations matched to the field").
    ``classifier="cnn"`` with ``max_epochs`` or ``channels`` builds the CNN with those."""
    from .classification import CNNClassifier, MatchedSimulationClassifier

    if classifier not in ("cnn", "boosting"):
        msg = f"classifier must be 'cnn' or 'boosting'; got {classifier!r}."
        raise ValueError(msg)
    estimator = classifier
    if classifier == "cnn" and (max_epochs is not None or channels is not None):
        estimator = CNNClassifier(channels=channels or (16, 32, 64), crop="auto",
                                  max_epochs=30 if max_epochs is None else max_epochs,
                                  lr_schedule="constant", test_time_augmentation=False,
                                  random_state=random_state, verbose=verbose)
        n_simulated = n_simulated or 10_000  # the CNN's default count
    # the simulations' chunks are rendered on every core (threads; the same fit for any count)
    return MatchedSimulationClassifier(
        estimator, features=None if classifier == "cnn" else "auto", n_simulated=n_simulated,
        bands=bands, class_prior=class_prior, simulation_params={"mag_slope": mag_slope},
        classes=("galaxy", "star"), n_jobs=n_jobs, random_state=random_state, verbose=verbose)


def _simulator_mismatch(field):
    """What keeps the SDSS-like simulator (0.396"/pixel, nanomaggies, bands among ugriz) from
    rendering this field; empty when it can."""
    from astropy.wcs.utils import proj_plane_pixel_scales

    scale = 3600 * float(np.mean(proj_plane_pixel_scales(field.wcs[field.reference_band]
                                                         .celestial)))
    problems = []
    if abs(scale / 0.396 - 1) > 0.05:
        problems.append(f'pixels of {scale:.3f}"')
    if str(field.unit).lower() not in ("nanomaggy", "nanomaggies", "nmgy"):
        problems.append(f"unit {field.unit!r}")
    if not set(field.bands) <= set("ugriz"):
        problems.append(f"bands {''.join(field.bands)!r}")
    return problems


def _check_simulator_match(field):
    problems = _simulator_mismatch(field)
    if problems:
        msg = (f"Field {field.name!r}: model='simulation' trains on the SDSS-like simulator "
               '(0.396" pixels, nanomaggies, bands among ugriz); this field has '
               + ", ".join(problems) + ". Use the label-free line (model=None) or a saved model.")
        raise ValueError(msg)


def _labels_from_fit(model, X, fitted):
    """Classes and star probabilities of a fitted MatchedSimulationClassifier, as its
    ``predict`` / ``predict_proba`` give them: the stamps it was fitted on (``fitted``) were
    scored in fit (``log_odds_``), so only the others are scored again."""
    classes = np.empty(len(X), dtype=object)
    proba = np.empty(len(X))
    cut = model.cut_
    classes[fitted] = cut.predict(model.log_odds_[:, None])
    proba[fitted] = cut.predict_proba(model.log_odds_[:, None])[:, 1]
    if not fitted.all():
        classes[~fitted] = model.predict(X[~fitted])
        proba[~fitted] = model.predict_proba(X[~fitted])[:, 1]
    return _as_class_names(classes), proba


def _scores(model, X):
    if hasattr(model, "predict_proba"):
        proba = np.asarray(model.predict_proba(X))
        classes = [str(c).lower() for c in getattr(model, "classes_", [])]
        col = classes.index("star") if "star" in classes else proba.shape[1] - 1
        return proba[:, col]
    if hasattr(model, "decision_function"):
        return np.asarray(model.decision_function(X), dtype=float).ravel()
    return np.full(len(X), np.nan)


def _as_class_names(labels):
    out = []
    for v in np.asarray(labels).ravel():
        name = str(v).strip().lower()
        out.append({"1": "star", "0": "galaxy", "true": "star", "false": "galaxy",
                    "point_source": "star"}.get(name, name))
    return np.array(out, dtype=object)


def catalog_field(paths, *, bands=None, model="auto", class_prior="auto", stamp_size=64,
                  threshold=None, min_objects=20, random_state=0, verbose=0,
                  simulation_params=None):
    """Detect, measure and classify the objects of one survey field.

    Parameters
    ----------
    paths : str, Path or sequence
        The field's frames (one FITS file per band, any order) or their directory.
    bands : str or sequence of str, default=None
        Bands to use, in order (None: every band found).
    model : estimator, "auto", "simulation" or None, default="auto"
        A fitted classifier of stamps ``(n, bands, stamp_size, stamp_size)`` with ``predict``
        (e.g. loaded with :func:`galaxy_learn.persistence.load`). None fits the label-free
        mission line on the field's own stamps. ``"simulation"`` fits a
        :class:`~galaxy_learn.classification.MatchedSimulationClassifier` on the field's
        stamps: a classifier trained on simulated cutouts with the PSF and sky noise measured on
        them (no labels; SDSS-like frames only: 0.396" pixels, nanomaggies, bands among ugriz),
        its score cut at ``class_prior``; by default gradient boosting on the stamps' growth
        curves, colours and spread_model (20,000 simulations, about a minute on two cores), which
        separates SDSS photo's stars on field 4510-4-30 better than the line and the index
        overall, and at least as well in every magnitude bin (user guide, "Star/galaxy
        separation on real data"); ``simulation_params`` chooses the CNN instead.
        ``"auto"``: ``"simulation"`` for a field the simulator can render, the line (None)
        otherwise.
    class_prior : float or "auto", default="auto"
        Star fraction at which the label-free classifiers cut (ignored with a fitted
        ``model``); "auto" estimates it from the field (the line: a two-component mixture on
        the manifold coordinate; the simulation-trained classifier: prior-shift EM on its
        probabilities): a new field's star fraction is rarely known.
    stamp_size : int, default=64
    threshold : float, default=None
        Detection threshold (sigma of the smoothed image); None: the segmenter's default.
    min_objects : int, default=20
        The label-free classifiers need at least this many clean stamps (fewer: an error; the
        simulation-trained one at least 20 whatever this says).
    random_state : int, default=0
    verbose : int, default=0
    simulation_params : dict, default=None
        With ``model="simulation"``: ``classifier`` ("cnn": a CNN on the pixels; "boosting":
        gradient boosting on :func:`~galaxy_learn.photometry.profile_features`; the default),
        ``n_simulated`` (20,000 for boosting, 10,000 for the CNN), ``mag_slope`` (None; see
        :func:`~galaxy_learn.datasets.make_matched_cutouts`), for the CNN ``max_epochs``
        (30) and ``channels`` ((16, 32, 64)), and ``n_jobs``, the threads rendering the
        simulations (-1, every core; :func:`catalog_fields` sets 1 when it runs fields in
        parallel).

    Returns
    -------
    result : dict
        ``catalog`` (pandas.DataFrame: ``id``, ``x``, ``y`` (reference-band pixels, 0-based),
        ``ra``, ``dec``, ``area``, ``flux_<band>`` (survey units), ``mag_<band>`` (AB; NaN
        without a zero point or for non-positive flux), ``class`` ("star"/"galaxy"),
        ``star_score``, ``flag_edge``, ``flag_masked``, ``flag_saturated``), ``class_map``
        (int8 array on the reference band's grid), ``labels`` (the object footprints) and
        ``field`` (the :class:`~galaxy_learn.datasets.SurveyField`).
    """
    from .datasets import SurveyField
    from .photometry import aperture_flux
    from .segmentation import HypercolumnSegmenter

    field = SurveyField.from_files(paths, bands=bands)
    simulated = False
    if isinstance(model, str):  # checked before the detection's work
        if model not in ("auto", "simulation"):
            msg = f"model must be an estimator, 'auto', 'simulation' or None; got {model!r}."
            raise ValueError(msg)
        if model == "auto":
            model = None if _simulator_mismatch(field) else "simulation"
    if isinstance(model, str):
        model = _simulation_model("".join(field.bands), class_prior, random_state, verbose,
                                  **(simulation_params or {}))
        simulated = True
        _check_simulator_match(field)
    ref = field.reference_band
    image = field.images[ref]
    if not np.isfinite(image).any() or np.nanmax(np.abs(image)) == 0:
        msg = f"Field {field.name!r}: the {ref!r} frame holds no data (all zero or NaN)."
        raise ValueError(msg)
    seg = HypercolumnSegmenter(random_state=random_state)
    if threshold is not None:
        seg.set_params(threshold=threshold)
    det, labels = seg.fit(image[None, None]).detect(image[None, None])
    labels = labels[0]
    ra, dec = field.pixel_to_world(det["x"].to_numpy(), det["y"].to_numpy())
    X, table = field.cutouts(ra=ra, dec=dec, size=stamp_size, edge="pad")
    for b in field.bands:  # PSF widths: header, else the field's own point sources
        field.psf_fwhm_pixels(b, det.assign(ra=ra, dec=dec))
    cat = pd.DataFrame({"id": det["label"].to_numpy(), "x": det["x"].to_numpy(),
                        "y": det["y"].to_numpy(), "ra": ra, "dec": dec,
                        "area": det["area"].to_numpy()})
    half = stamp_size // 2
    X_fill = np.nan_to_num(X, nan=0.0)
    missing = (~np.isfinite(X)).astype(np.float32)
    for k, b in enumerate(field.bands):
        centre = np.column_stack([half + table[f"dx_{b}"], half + table[f"dy_{b}"]])
        radius = 2.0 * field.psf_fwhm[b] if np.isfinite(field.psf_fwhm[b]) else 4.0
        flux = aperture_flux(X_fill[:, k:k + 1], [radius], center=centre)[:, 0]
        # an aperture touching a masked or off-frame pixel has no flux to report
        touched = aperture_flux(missing[:, k:k + 1], [radius], center=centre)[:, 0] > 0
        flux = np.where(touched, np.nan, flux)
        cat[f"flux_{b}"] = flux
        zp = field.zeropoint.get(b)
        with np.errstate(divide="ignore", invalid="ignore"):
            cat[f"mag_{b}"] = (zp - 2.5 * np.log10(np.where(flux > 0, flux, np.nan))
                               if zp is not None else np.nan)
    for flag in ("flag_edge", "flag_masked", "flag_saturated"):
        cat[flag] = table[flag].to_numpy()
    clean = ~(cat["flag_edge"] | cat["flag_masked"]).to_numpy()
    labelled = None
    if (simulated or model is None) and clean.sum() < max(min_objects, 20 if simulated else 0):
        msg = (
            f"Field {field.name!r}: {int(clean.sum())} clean stamps (of {len(cat)} "
            f"detections); the label-free {'classifier' if simulated else 'line'} needs at "
            f"least {max(min_objects, 20 if simulated else 0)}. Pass a saved model to classify "
            "a sparse field."
        )
        raise ValueError(msg)
    if simulated:
        model = model.fit(X[clean])
        labelled = _labels_from_fit(model, X_fill, clean)
    elif model is None:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*connected components.*")
            warnings.filterwarnings("ignore", message=".*sparsity structure.*")
            model = _line(class_prior, random_state, verbose).fit(X_fill[clean])
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*connected components.*")
        if labelled is None:
            labelled = _as_class_names(model.predict(X_fill)), _scores(model, X_fill)
        cat["class"], cat["star_score"] = labelled
    codes = np.zeros(int(labels.max()) + 1, dtype=np.int8)
    codes[cat["id"].to_numpy()] = np.where(cat["class"] == "star", CLASS_CODES["star"],
                                           CLASS_CODES["galaxy"])
    cat.attrs.update(field=field.name, reference_band=ref, unit=field.unit,
                     psf_fwhm_pixels={b: float(v) for b, v in field.psf_fwhm.items()})
    return {"catalog": cat, "class_map": codes[labels], "labels": labels, "field": field}


def _check_outputs(catalog_path, map_path, png_path):
    for path, suffixes in ((catalog_path, _CATALOG_SUFFIXES), (map_path, (".fits",)),
                           (png_path, (".png",))):
        if path is None:
            continue
        path = Path(path)
        if path.suffix.lower() not in suffixes:
            msg = f"Output {str(path)!r} must end in {' or '.join(suffixes)}."
            raise ValueError(msg)
        if not path.parent.is_dir():
            msg = f"Output folder {str(path.parent)!r} does not exist."
            raise ValueError(msg)
        if path.is_dir():
            msg = f"Output {str(path)!r} is a directory."
            raise ValueError(msg)


def write_field_catalog(result, catalog_path, *, map_path=None, png_path=None):
    """Write what :func:`catalog_field` returned: catalogue, class map, quick-look PNG.

    Parameters
    ----------
    result : dict
        :func:`catalog_field`'s result.
    catalog_path : str or Path
        ``.fits`` (an astropy Table, units and field metadata in the header) or ``.csv``.
    map_path : str or Path, default=None
        ``.fits``: the per-pixel class map (:data:`CLASS_CODES`) with the reference band's WCS.
    png_path : str or Path, default=None
        ``.png``: the colour composite with each object's outline coloured by its class.
    """
    from astropy.io import fits
    from astropy.table import Table

    _check_outputs(catalog_path, map_path, png_path)
    cat, field = result["catalog"], result["field"]
    catalog_path = Path(catalog_path)
    if catalog_path.suffix.lower() == ".csv":
        cat.to_csv(catalog_path, index=False)
    else:
        t = Table.from_pandas(cat)
        t["ra"].unit = t["dec"].unit = "deg"
        t["x"].unit = t["y"].unit = t["area"].unit = "pix"
        for b in field.bands:
            # survey flux units (nanomaggy, counts) are not all FITS units: named in the header
            t[f"flux_{b}"].description = f"aperture flux ({field.unit or 'image units'})"
            t[f"mag_{b}"].unit = "mag"
        t.meta.update({"FIELD": str(field.name), "REFBAND": field.reference_band,
                       "BANDS": "".join(field.bands), "FLUXUNIT": str(field.unit)})
        t.write(catalog_path, overwrite=True)
    if map_path is not None:
        header = field.wcs[field.reference_band].celestial.to_header()
        header["CLASSES"] = "0 background, 1 galaxy, 2 star"
        header["FIELD"] = str(field.name)
        fits.PrimaryHDU(result["class_map"].astype(np.int16), header=header).writeto(
            map_path, overwrite=True)
    if png_path is not None:
        _quicklook(result, png_path)


def _aligned(field, band):
    """``band`` shifted onto the reference band's grid (the translation at the frame centre:
    a quick look, not a resampling for measurement)."""
    from scipy import ndimage

    ref = field.reference_band
    img = field.images[band]
    if band == ref:
        return img
    H, W = field.images[ref].shape
    ra, dec = field.pixel_to_world((W - 1) / 2, (H - 1) / 2)
    x, y = field.world_to_pixel(ra, dec, band)
    shifted = ndimage.shift(np.nan_to_num(img), ((H - 1) / 2 - y, (W - 1) / 2 - x), order=1)
    out = np.zeros((H, W), dtype=np.float32)
    h, w = min(H, shifted.shape[0]), min(W, shifted.shape[1])
    out[:h, :w] = shifted[:h, :w]
    return out


def _quicklook(result, png_path, max_pixels=1200):
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from astropy.visualization import make_lupton_rgb

    field, class_map = result["field"], result["class_map"]
    bands = field.bands
    pick = [b for b in ("i", "r", "g") if b in bands] or bands[-3:]
    while len(pick) < 3:
        pick.append(pick[-1])
    planes = [_aligned(field, b) for b in pick]
    sigma = np.nanmedian([np.nanstd(p[::8, ::8]) for p in planes])
    rgb = make_lupton_rgb(*planes, stretch=max(5 * sigma, 1e-6), Q=8)
    H, W = class_map.shape
    scale = max(1, int(np.ceil(max(H, W) / max_pixels)))
    fig, ax = plt.subplots(figsize=(W / scale / 100, H / scale / 100), dpi=100)
    ax.imshow(rgb[::scale, ::scale], origin="lower")
    for code, colour in ((CLASS_CODES["galaxy"], "orange"), (CLASS_CODES["star"], "cyan")):
        mask = (class_map[::scale, ::scale] == code).astype(float)
        if mask.any():
            ax.contour(mask, levels=[0.5], colors=colour, linewidths=0.6)
    ax.set_axis_off()
    ax.set_title(f"{field.name}: stars cyan, galaxies orange", fontsize=8)
    fig.savefig(png_path, dpi=100, bbox_inches="tight")
    plt.close(fig)


def _one(entry, out_dir, fmt, kwargs):
    name = Path(entry).name if isinstance(entry, (str, Path)) else Path(list(entry)[0]).parent.name
    result = catalog_field(entry, **kwargs)
    stem = Path(out_dir) / (result["field"].name or name)
    write_field_catalog(result, f"{stem}_catalog.{fmt}", map_path=f"{stem}_classmap.fits",
                        png_path=f"{stem}_quicklook.png")
    return len(result["catalog"])


def catalog_fields(fields, out_dir, *, fmt="fits", on_error="skip", n_jobs=None, verbose=0,
                   **kwargs):
    """Catalogue many fields: ``<field>_catalog.<fmt>``, ``_classmap.fits``, ``_quicklook.png``.

    Parameters
    ----------
    fields : sequence
        One entry per field: its directory or its list of frame files.
    out_dir : str or Path
        Existing folder for the outputs (checked before any work).
    fmt : {"fits", "csv"}, default="fits"
    on_error : {"skip", "raise"}, default="skip"
        A failing field is reported (``failed``) and skipped; "raise" stops at the first.
    n_jobs : int, default=None
        Fields in parallel through joblib (any joblib backend, e.g. Dask's). None: one at a
        time, with a progress bar when ``verbose``.
    **kwargs
        Passed to :func:`catalog_field`.

    Returns
    -------
    summary : dict
        ``done`` (field -> number of objects) and ``failed`` (field -> error message).
    """
    if fmt not in ("fits", "csv"):
        msg = f"The 'fmt' parameter must be 'fits' or 'csv'. Got {fmt!r}."
        raise ValueError(msg)
    if on_error not in ("skip", "raise"):
        msg = f"The 'on_error' parameter must be 'skip' or 'raise'. Got {on_error!r}."
        raise ValueError(msg)
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        msg = f"Output folder {str(out_dir)!r} does not exist."
        raise ValueError(msg)
    fields = list(fields)
    names = [str(f) if isinstance(f, (str, Path)) else str(list(f)[0]) for f in fields]
    kwargs = {"verbose": 0, **kwargs}
    if n_jobs not in (None, 1):  # fields in parallel: no threads inside each field
        kwargs["simulation_params"] = {"n_jobs": 1, **(kwargs.get("simulation_params") or {})}

    def run(entry):
        try:
            return True, _one(entry, out_dir, fmt, kwargs)
        except (ValueError, OSError) as exc:
            if on_error == "raise":
                raise
            return False, str(exc)

    if n_jobs is None:
        from tqdm.auto import tqdm

        outcomes = [run(f) for f in tqdm(fields, desc="fields", disable=not verbose)]
    else:
        from joblib import Parallel, delayed

        outcomes = Parallel(n_jobs=n_jobs)(delayed(run)(f) for f in fields)
    summary = {"done": {}, "failed": {}}
    for name, (ok, value) in zip(names, outcomes):
        summary["done" if ok else "failed"][name] = value
    return summary
