"""End-to-end runs of the galaxy-learn subcommands with tiny settings (in-process)."""
import numpy as np
import pandas as pd
import pytest

import galaxy_learn
from galaxy_learn.cli import main
from galaxy_learn.persistence import load, read_metadata

needs_pipeline = pytest.mark.skipif(
    not all(hasattr(galaxy_learn, n) for n in ("VAEEncoder", "ThresholdClassifier")),
    reason="VAEEncoder / ThresholdClassifier are not merged in this build yet",
)


@pytest.fixture(scope="module")
def cutout_dir(tmp_path_factory):
    from galaxy_learn.datasets import make_star_galaxy_cutouts

    X, _, _ = make_star_galaxy_cutouts(40, random_state=1)
    folder = tmp_path_factory.mktemp("cutouts")
    np.save(folder / "a.npy", X[:25])
    np.save(folder / "b.npy", X[25:])
    return folder


@needs_pipeline
def test_demo_quick_prints_table_and_writes_figures(tmp_path, capsys):
    code = main(["demo", "--quick", "-q", "-o", str(tmp_path / "demo"), "--n-samples", "120",
                 "--model", str(tmp_path / "demo.glm")])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "AUC pipeline" in out and "AUC CI" in out and "all" in out
    assert (tmp_path / "demo" / "roc.png").stat().st_size > 0
    assert (tmp_path / "demo" / "latent_space.png").stat().st_size > 0
    assert (tmp_path / "demo" / "segmentation.png").stat().st_size > 0
    table = pd.read_csv(tmp_path / "demo" / "results.csv")
    assert table["n"].iloc[-1] == 36  # the 'all' row: 30% of 120 held out
    assert read_metadata(tmp_path / "demo.glm")["estimator_class"].endswith("Pipeline")
    # every file written is listed; skorch's "Re-initializing" notices are gone
    for name in ("results.csv", "roc.png", "latent_space.png", "segmentation.png"):
        assert str(tmp_path / "demo" / name) in out
    assert str(tmp_path / "demo.glm") in out and "Re-initializing" not in out


@needs_pipeline
def test_demo_psf_routes_psf_fwhm_and_matches_the_index(tmp_path, capsys):
    import sklearn

    from galaxy_learn.demo import run_demo

    code = main(["demo", "--quick", "-q", "--psf", "--no-figures", "-o", str(tmp_path / "d"),
                 "--n-samples", "120"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "PSF-matched cutouts (PSF-aware run)" in out
    report = run_demo(120, quick=True, psf=True, figures=False, verbose=0, out_dir=tmp_path / "e")
    enc = report.pipeline.named_steps["vaeencoder"]
    assert enc.psf_target_fwhm_.shape == (5,) and report.settings["psf"]
    assert not sklearn.get_config()["enable_metadata_routing"]  # switched on for the run only
    with pytest.raises(ValueError, match="was fitted with psf_fwhm"):
        enc.transform(np.zeros((2, 5, 64, 64), dtype=np.float32))
    # the table's CI column is the index of PSF-matched cutouts: differs from the raw one
    raw = run_demo(120, quick=True, figures=False, verbose=0, out_dir=tmp_path / "f")
    assert not np.allclose(report.table["AUC CI"], raw.table["AUC CI"], equal_nan=True)


@needs_pipeline
def test_classify_psf_reads_the_seeing_from_fits_headers(tmp_path, capsys):
    from astropy.io import fits

    from galaxy_learn.datasets import make_star_galaxy_cutouts

    X, _, truth = make_star_galaxy_cutouts(30, random_state=2)
    folder = tmp_path / "fits"
    folder.mkdir()
    for k, cube in enumerate(X):
        hdu = fits.PrimaryHDU(cube)
        hdu.header["SEEING"] = float(truth["seeing_fwhm_r"].iloc[k])
        hdu.writeto(folder / f"obj{k:02d}.fits")
    model = tmp_path / "m.glm"
    argv = ["classify", str(folder), "-o", str(tmp_path / "out.csv"), "--max-epochs", "1",
            "--batch-size", "8", "-q", "--psf", "--model", str(model)]
    assert main(argv) == 0, capsys.readouterr().out
    table = pd.read_csv(tmp_path / "out.csv")
    np.testing.assert_allclose(table["psf_fwhm_r"], truth["seeing_fwhm_r"], rtol=1e-6)
    assert set(table["label"]) <= {"POINT", "GALAXY"} and table["score"].notna().all()
    enc = load(model, allow_pickle=True).named_steps["vaeencoder"]
    assert enc.psf_target_fwhm_ == pytest.approx(np.full(5, np.median(truth["seeing_fwhm_r"])))
    assert main(argv) == 0  # reuses the saved PSF-aware model
    # without PSF keywords: a clear error, no output
    fits.PrimaryHDU(X[0]).writeto(folder / "nohdr.fits")
    assert main(argv[:2] + ["-o", str(tmp_path / "x.csv"), "--psf", "-q"]) == 1
    assert "1 of 31 cutout(s) have none in their FITS headers" in capsys.readouterr().err


@needs_pipeline
def test_classify_fits_saves_and_reuses_model(cutout_dir, tmp_path, capsys):
    model = tmp_path / "m.glm"
    argv = ["classify", str(cutout_dir), "-o", str(tmp_path / "out.csv"), "--max-epochs", "1",
            "--batch-size", "16", "--class-prior", "0.4", "--model", str(model), "-q",
            "--device", "cpu"]
    assert main(argv) == 0, capsys.readouterr().err
    first = pd.read_csv(tmp_path / "out.csv")
    assert len(first) == 40 and set(first["label"]) <= {"POINT", "GALAXY"}
    assert list(first.columns) == ["file", "index", "id", "label", "score"]
    assert (first["label"] == "POINT").mean() == pytest.approx(0.4, abs=0.05)
    # Second run: the saved model is reused (no refit), same labels.
    argv[3] = str(tmp_path / "again.csv")
    assert main(argv) == 0
    again = pd.read_csv(tmp_path / "again.csv")
    pd.testing.assert_frame_equal(first, again)
    assert load(model, allow_pickle=True).named_steps["thresholdclassifier"].class_prior == 0.4


def test_segment_writes_an_object_map(cutout_dir, tmp_path, capsys):
    from astropy.io import fits

    from galaxy_learn import _io

    X = np.load(cutout_dir / "a.npy")
    field = np.concatenate([np.concatenate([X[0], X[1]], axis=2),
                            np.concatenate([X[2], X[3]], axis=2)], axis=1)  # 5 x 128 x 128
    _io.write_fits(field, tmp_path / "field.fits")
    code = main(["segment", str(tmp_path / "field.fits"), "-o", str(tmp_path / "mask.fits"),
                 "--max-epochs", "1", "--batch-size", "8", "-q", "--device", "cpu"])
    assert code == 0, capsys.readouterr().err
    segmap = fits.getdata(tmp_path / "mask.fits")
    assert segmap.shape == (128, 128) and segmap.min() == 0 and segmap.max() >= 1


def test_denoise_writes_images_in_input_units(cutout_dir, tmp_path, capsys):
    code = main(["denoise", str(cutout_dir / "b.npy"), "-o", str(tmp_path / "clean.npy"),
                 "--max-epochs", "1", "--batch-size", "8", "-q", "--device", "cpu",
                 "--model", str(tmp_path / "den.glm")])
    assert code == 0, capsys.readouterr().err
    clean = np.load(tmp_path / "clean.npy")
    noisy = np.load(cutout_dir / "b.npy")
    assert clean.shape == noisy.shape and np.isfinite(clean).all()
    assert (tmp_path / "den.glm").exists()
