"""Field catalogues: detect, measure, classify survey frames; outputs; many fields; the CLI."""
import numpy as np
import pandas as pd
import pytest
from astropy.io import fits
from astropy.table import Table
from astropy.wcs import WCS
from sklearn.base import BaseEstimator, ClassifierMixin

from galaxy_learn.cli import main
from galaxy_learn.field_catalog import catalog_field, catalog_fields, write_field_catalog
from tests._survey_frames import _make_field

# 6 point sources (FWHM 3 px) and 6 extended objects (FWHM 7 px) on a 3-band field
XS = (30.0, 70.4, 110.2, 150.7, 190.1, 40.3, 80.8, 120.1, 160.6, 60.2, 100.9, 140.3)
YS = (30.0, 40.2, 35.6, 45.1, 38.9, 100.2, 110.7, 95.3, 105.8, 160.4, 150.1, 165.2)
WIDTHS = (3.0,) * 6 + (7.0,) * 6


def _field(folder, **kw):
    folder.mkdir(exist_ok=True)
    return _make_field(folder, noise=0.005, xs=XS, ys=YS, widths=WIDTHS, **kw)


class _SizeModel(ClassifierMixin, BaseEstimator):
    """A 'model' of stamps: star when the central 3x3 holds > 35% of the 15x15 flux."""

    def fit(self, X=None, y=None):
        self.classes_ = np.array(["galaxy", "star"])
        return self

    def _ratio(self, X):
        c = X.shape[-1] // 2
        core = X[:, :, c - 1:c + 2, c - 1:c + 2].sum(axis=(1, 2, 3))
        return core / X[:, :, c - 7:c + 8, c - 7:c + 8].sum(axis=(1, 2, 3))

    def predict(self, X):
        return np.where(self._ratio(X) > 0.35, "star", "galaxy")

    def predict_proba(self, X):
        p = np.clip(self._ratio(X) / 0.7, 0, 1)
        return np.column_stack([1 - p, p])


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    folder = tmp_path_factory.mktemp("field")
    _field(folder)
    return catalog_field(folder, model=_SizeModel().fit(), stamp_size=31)


def test_catalog_finds_measures_and_classifies(result):
    cat = result["catalog"]
    assert len(cat) == 12
    # positions: every injected object matched within 0.5 px of the reference band
    d = np.hypot(cat["x"].to_numpy()[:, None] - np.array(XS), cat["y"].to_numpy()[:, None]
                 - np.array(YS))
    assert d.min(axis=1).max() < 0.5
    order = d.argmin(axis=1)
    truth = np.where(np.array(WIDTHS)[order] < 5, "star", "galaxy")
    np.testing.assert_array_equal(cat["class"].to_numpy(), truth)
    # aperture flux (radius 2 PSF FWHM) of the point sources in every band: the injected 50 nmgy
    stars = truth == "star"
    for b in "grz":
        np.testing.assert_allclose(cat.loc[stars, f"flux_{b}"], 50.0, rtol=0.03)
        np.testing.assert_allclose(cat[f"mag_{b}"], 22.5 - 2.5 * np.log10(cat[f"flux_{b}"]))
    assert not cat[["flag_edge", "flag_masked", "flag_saturated"]].to_numpy().any()


def test_class_map_matches_the_catalogue(result):
    cat, cmap, labels = result["catalog"], result["class_map"], result["labels"]
    assert set(np.unique(cmap)) <= {0, 1, 2}
    for _, row in cat.iterrows():
        code = cmap[int(round(row["y"])), int(round(row["x"]))]
        assert code == (2 if row["class"] == "star" else 1)
    assert ((labels > 0) == (cmap > 0)).all()


def test_written_outputs(result, tmp_path):
    write_field_catalog(result, tmp_path / "c.fits", map_path=tmp_path / "m.fits",
                        png_path=tmp_path / "q.png")
    t = Table.read(tmp_path / "c.fits")
    assert len(t) == 12 and str(t["ra"].unit) == "deg" and t.meta["REFBAND"] == "r"
    with fits.open(tmp_path / "m.fits") as hdul:
        cmap, header = hdul[0].data, hdul[0].header
    np.testing.assert_array_equal(cmap, result["class_map"])
    # the map carries the reference band's WCS: an object's RA/Dec lands on its own pixel
    row = result["catalog"].iloc[0]
    x, y = WCS(header).world_to_pixel_values(row["ra"], row["dec"])
    assert abs(x - row["x"]) < 1e-6 and abs(y - row["y"]) < 1e-6
    assert (tmp_path / "q.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    write_field_catalog(result, tmp_path / "c.csv")
    csv = pd.read_csv(tmp_path / "c.csv")
    assert list(csv.columns) == list(result["catalog"].columns)
    with pytest.raises(ValueError, match=r"must end in \.fits or \.csv"):
        write_field_catalog(result, tmp_path / "c.txt")
    with pytest.raises(ValueError, match="does not exist"):
        write_field_catalog(result, tmp_path / "nope" / "c.fits")


def test_label_free_line_on_a_field(tmp_path):
    folder = tmp_path / "f"
    _field(folder)
    with pytest.raises(ValueError, match="needs at least 20"):
        catalog_field(folder, stamp_size=31)


def test_empty_frame_is_an_error(tmp_path):
    paths, _, _ = _field(tmp_path / "f")
    for p in paths:
        data, header = fits.getdata(p), fits.getheader(p)
        fits.PrimaryHDU(np.zeros_like(data), header=header).writeto(p, overwrite=True)
    with pytest.raises(ValueError, match="holds no data"):
        catalog_field(tmp_path / "f", model=_SizeModel().fit())


def test_many_fields_one_bad(tmp_path):
    good, bad, out = tmp_path / "good", tmp_path / "bad", tmp_path / "out"
    _field(good)
    bad.mkdir()
    (bad / "frame-r-000009-1-0001.fits").write_bytes(b"junk")
    out.mkdir()
    summary = catalog_fields([bad, good], out, fmt="csv", model=_SizeModel().fit(), stamp_size=31)
    assert summary["done"] == {str(good): 12}
    assert list(summary["failed"]) == [str(bad)] and "Could not read" in summary["failed"][str(bad)]
    assert sorted(p.name for p in out.iterdir()) == [
        "000001-1-0001_catalog.csv", "000001-1-0001_classmap.fits", "000001-1-0001_quicklook.png"]
    with pytest.raises(ValueError, match="Output folder"):
        catalog_fields([good], tmp_path / "missing")
    with pytest.raises(ValueError, match="Could not read"):
        catalog_fields([bad], out, on_error="raise", model=_SizeModel().fit())


def test_cli_catalog_partial_and_model(tmp_path, capsys):
    from galaxy_learn import persistence

    good, bad, out = tmp_path / "good", tmp_path / "bad", tmp_path / "out"
    _field(good)
    bad.mkdir()
    (bad / "frame-r-000009-1-0001.fits").write_bytes(b"junk")
    out.mkdir()
    model_path = tmp_path / "m.glm"
    persistence.save(_SizeModel().fit(), model_path)
    code = main(["catalog", str(bad), str(good), "-o", str(out), "--model", str(model_path),
                 "--format", "csv", "-q"])
    err = capsys.readouterr().err
    assert code == 3 and "1 field(s) skipped" in err and str(bad) in err
    assert len(pd.read_csv(out / "000001-1-0001_catalog.csv")) == 12
    assert main(["catalog", str(good), "-o", str(tmp_path / "missing")]) == 1
    assert "is not an existing folder" in capsys.readouterr().err


def _crowded_field(folder, **kw):
    """36 objects on a grid: 18 point sources (FWHM 3 px) and 18 extended (FWHM 8 px)."""
    folder.mkdir(exist_ok=True)
    gx, gy = np.meshgrid(np.arange(6) * 52.0 + 40.3, np.arange(6) * 52.0 + 38.7)
    widths = np.where(np.arange(36) % 2 == 0, 3.0, 8.0)
    return _make_field(folder, shape=(350, 360), noise=0.005, xs=gx.ravel(), ys=gy.ravel(),
                       widths=widths, **kw)


@pytest.mark.parametrize("params", [
    {"classifier": "cnn", "n_simulated": 600, "max_epochs": 6},
    {"classifier": "boosting", "n_simulated": 600, "mag_slope": 0.2},
])
def test_simulation_trained_classifier(tmp_path, params):
    """model='simulation': a CNN on the pixels, or gradient boosting on the growth curves,
    trained on simulations matched to the field's PSF and noise (no labels) ranks the field's
    point sources above its extended objects."""
    from sklearn.metrics import roc_auc_score

    _, ra, dec = _crowded_field(tmp_path / "f")
    res = catalog_field(tmp_path / "f", model="simulation", stamp_size=31, class_prior=0.5,
                        simulation_params=params)
    cat = res["catalog"]
    assert len(cat) == 36 and set(cat["class"]) <= {"star", "galaxy"}
    # which detection is which object: nearest true position
    d = np.hypot(cat["ra"].to_numpy()[:, None] - ra[None], cat["dec"].to_numpy()[:, None]
                 - dec[None])
    is_point = (d.argmin(axis=1) % 2 == 0).astype(int)
    assert roc_auc_score(is_point, cat["star_score"]) > 0.9
    assert (cat["class"] == "star").mean() == pytest.approx(0.5, abs=0.1)


def test_simulation_needs_an_sdss_like_field(tmp_path, capsys):
    _crowded_field(tmp_path / "f", headers={"BUNIT": "counts"})
    with pytest.raises(ValueError, match="SDSS-like simulator.*unit 'counts'"):
        catalog_field(tmp_path / "f", model="simulation", stamp_size=31)
    with pytest.raises(ValueError, match="'cnn' or 'boosting'"):  # before any other work
        catalog_field(tmp_path / "f", model="simulation", stamp_size=31,
                      simulation_params={"classifier": "forest"})
    with pytest.raises(ValueError, match="'simulation' or None"):
        catalog_field(tmp_path / "f", model="cnn", stamp_size=31)
    out = tmp_path / "out"
    out.mkdir()
    model = tmp_path / "m.joblib"
    model.write_bytes(b"")
    code = main(["catalog", str(tmp_path / "f"), "-o", str(out), "--model", str(model),
                 "--classifier", "simulation", "-q"])
    assert code != 0
    assert "exclude each other" in capsys.readouterr().err


@pytest.mark.parametrize("argv, expected", [
    ([], "boosting"), (["--simulation-model", "cnn"], "cnn")])
def test_cli_simulation_model_reaches_the_catalogue(tmp_path, monkeypatch, argv, expected):
    """--classifier simulation passes the chosen simulation classifier (boosting by default)."""
    import galaxy_learn.field_catalog as fc

    seen = {}

    def fake(fields, output_dir, **kwargs):
        seen.update(kwargs)
        return {"done": {}, "failed": {}}

    monkeypatch.setattr(fc, "catalog_fields", fake)
    out = tmp_path / "out"
    out.mkdir()
    assert main(["catalog", str(tmp_path), "-o", str(out), "--classifier", "simulation", "-q",
                 *argv]) == 0
    assert seen["model"] == "simulation"
    assert seen["simulation_params"] == {"classifier": expected}


@pytest.mark.parametrize("argv, expected", [
    ([], "auto"), (["--classifier", "line"], None), (["--classifier", "auto"], "auto")])
def test_cli_classifier_choice(tmp_path, monkeypatch, argv, expected):
    """Without --model the catalogue's default is 'auto'; --classifier line asks for the line."""
    import galaxy_learn.field_catalog as fc

    seen = {}
    monkeypatch.setattr(fc, "catalog_fields",
                        lambda fields, output_dir, **kw: seen.update(kw) or {"done": {},
                                                                            "failed": {}})
    out = tmp_path / "out"
    out.mkdir()
    assert main(["catalog", str(tmp_path), "-o", str(out), "-q", *argv]) == 0
    assert seen["model"] == expected


@pytest.mark.parametrize("headers, expected", [({}, "simulation"),
                                               ({"BUNIT": "counts"}, "line")])
def test_auto_trains_on_simulations_where_the_field_allows(tmp_path, monkeypatch, headers,
                                                           expected):
    """model='auto' (the default): the simulation-trained classifier on an SDSS-like field
    (nanomaggies, 0.396" pixels, ugriz bands), the label-free line on any other."""
    import galaxy_learn.field_catalog as fc

    used = []
    real_simulation = fc._simulation_model

    def simulation(*args, **kw):
        used.append("simulation")
        return real_simulation(*args, **{**kw, "n_simulated": 600})

    def line(*args, **kw):
        used.append("line")
        return _SizeModel()

    monkeypatch.setattr(fc, "_simulation_model", simulation)
    monkeypatch.setattr(fc, "_line", line)
    _crowded_field(tmp_path / "f", headers=headers)
    cat = catalog_field(tmp_path / "f", stamp_size=31)["catalog"]
    assert used == [expected]
    assert len(cat) == 36 and set(cat["class"]) <= {"star", "galaxy"}


def test_simulation_reuses_the_fit_scores(tmp_path):
    """The catalogue takes the clean stamps' classes and scores from the fit (log_odds_), as
    predict / predict_proba would give them, and scores only the other stamps again."""
    import galaxy_learn.field_catalog as fc
    from galaxy_learn.classification import MatchedSimulationClassifier

    _crowded_field(tmp_path / "f")
    res = catalog_field(tmp_path / "f", stamp_size=31, class_prior=0.5,
                        simulation_params={"n_simulated": 600})
    X, _ = res["field"].cutouts(ra=res["catalog"]["ra"].to_numpy(),
                                dec=res["catalog"]["dec"].to_numpy(), size=31, edge="pad")
    X = np.nan_to_num(X, nan=0.0)
    model = MatchedSimulationClassifier(n_simulated=600, bands="gri", class_prior=0.5,
                                        classes=("galaxy", "star"), random_state=0,
                                        simulation_params={"mag_slope": None})
    clean = np.ones(len(X), dtype=bool)
    clean[:3] = False  # as if three stamps were flagged
    model.fit(X[clean])
    classes, proba = fc._labels_from_fit(model, X, clean)
    np.testing.assert_array_equal(classes, model.predict(X))
    np.testing.assert_allclose(proba, model.predict_proba(X)[:, 1], rtol=1e-12)


@pytest.mark.parametrize("n_jobs, params, expected", [
    (None, None, None), (2, None, {"n_jobs": 1}),
    (2, {"classifier": "cnn"}, {"n_jobs": 1, "classifier": "cnn"}),
    (2, {"n_jobs": 3}, {"n_jobs": 3})])
def test_fields_in_parallel_use_no_threads_inside(tmp_path, monkeypatch, n_jobs, params,
                                                  expected):
    """catalog_fields(n_jobs > 1) runs each field's simulations on one thread (no nested
    oversubscription) unless simulation_params says otherwise."""
    import galaxy_learn.field_catalog as fc

    seen = []
    monkeypatch.setattr(fc, "_one", lambda entry, out, fmt, kw: seen.append(kw) or "f")
    from joblib import parallel_config

    kw = {} if params is None else {"simulation_params": params}
    with parallel_config(backend="threading"):  # in this process, where _one is patched
        fc.catalog_fields([tmp_path / "a"], tmp_path, n_jobs=n_jobs, **kw)
    assert seen[0].get("simulation_params") == expected
