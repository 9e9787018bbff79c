"""Bad input, as a new user meets it: every item of issue 17, through the Python API and the CLI.

Each test reproduces one failure of the product as it was (a broken base install, a batch lost to
one bad file, CLI defaults contradicting the library, channel-last arrays read as garbage, a
single-band FITS refused, an error naming a flag that does not exist, tracebacks for non-model
files, output checked after training, a 1e30 pixel blamed on the learning rate, CSV columns that
differ from the help, skorch noise) and checks the fix. The CLI runs in-process (``main([...])``).
"""
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import galaxy_learn
from galaxy_learn import _io, persistence
from galaxy_learn.cli import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, EXIT_PARTIAL, build_parser, main
from galaxy_learn.utils import check_images, looks_channel_last

ROOT = Path(__file__).resolve().parents[1]
OPTIONAL = ("dask", "distributed", "galsim", "sep", "hdbscan", "umap", "accelerate", "photutils")

# Run in a fresh interpreter: block every installed top-level module whose distribution is not
# in setup.py's install_requires (or their requirements), then fit every public estimator.
_BASE_INSTALL = textwrap.dedent('''
import ast
import importlib.abc
import importlib.machinery
import importlib.metadata as md
import re
import sys

from packaging.requirements import Requirement


def _install_requires(setup_py):
    tree = ast.parse(open(setup_py, encoding="utf-8").read())
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == "install_requires":
            return [ast.literal_eval(e) for e in node.value.elts]
    raise AssertionError("no install_requires in setup.py")


def _norm(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def _closure(reqs):
    allowed, todo = set(), [Requirement(r) for r in reqs]
    while todo:
        req = todo.pop()
        name = _norm(req.name)
        if name in allowed:
            continue
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        allowed.add(name)
        try:
            todo += [Requirement(r) for r in (md.requires(req.name) or [])]
        except md.PackageNotFoundError:
            pass
    return allowed


allowed = _closure(_install_requires(sys.argv[1])) | {"galaxy-learn"}
blocked = {mod for mod, dists in md.packages_distributions().items()
           if not any(_norm(d) in allowed for d in dists)
           and mod not in sys.stdlib_module_names and not mod.startswith("_")}
blocked -= {"galaxy_learn"}


class _Absent(importlib.abc.Loader):
    """Loader of a blocked module: importing it fails as if it were not installed."""

    def create_module(self, spec):
        raise ModuleNotFoundError(f"No module named {spec.name!r} (not in install_requires)",
                                  name=spec.name)

    def exec_module(self, module):  # pragma: no cover - never reached
        pass


class _Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in blocked:  # origin None: find_spec probes see no file
            return importlib.machinery.ModuleSpec(name, _Absent(), origin=None)
        return None


for mod in [m for m in sys.modules if m.partition(".")[0] in blocked]:
    del sys.modules[mod]  # e.g. packaging, imported above to read the requirements
sys.meta_path.insert(0, _Blocker())

import numpy as np  # noqa: E402

import galaxy_learn  # noqa: E402

rng = np.random.default_rng(0)
X = rng.normal(size=(24, 3, 16, 16)).astype(np.float32)
X[:, :, 6:10, 6:10] += rng.uniform(2, 20, size=(24, 1, 1, 1)).astype(np.float32)
y = np.array([0, 1] * 12)
tiny = {
    "VAEEncoder": dict(max_epochs=1, batch_size=8, hidden_units=8, channels=(4,), n_ensemble=1),
    "CNNClassifier": dict(channels=(4,), dense_units=(8,), max_epochs=1, batch_size=8),
    "HypercolumnExtractor": dict(channels=(2, 4), layers=("input", "enc0"), max_epochs=1),
    "ContrastiveDenoiser": dict(base_channels=2, depth=1, embedding_dim=2, projection_dim=2,
                                max_epochs=1, batch_size=8),
    "MatchedSimulationClassifier": dict(bands="gri", n_simulated=200, features="profile",
                                        simulation_params={"psf_fwhm": 1.2}, random_state=0),
}
data = {"ThresholdClassifier": (X.reshape(24, -1)[:, :1],), "LandmarkIsomap": (X.reshape(24, -1),),
        "ManifoldThresholdClassifier": (X.reshape(24, -1),), "CNNClassifier": (X, y)}
fitted = []
for name in galaxy_learn.__all__:
    cls = getattr(galaxy_learn, name)
    if not isinstance(cls, type):
        continue
    params = dict(tiny.get(name, {}))
    if name == "HypercolumnSegmenter":
        params["extractor"] = galaxy_learn.HypercolumnExtractor(device="cpu", **tiny["HypercolumnExtractor"])
        params["max_fit_pixels"] = 500
    if "device" in cls().get_params():
        params["device"] = "cpu"
    est = cls(**params).fit(*data.get(name, (X,)))
    fitted.append(name)
extras = sorted(m for m in sys.modules if m.partition(".")[0] in {"dask", "distributed", "galsim", "sep", "hdbscan", "umap", "accelerate", "photutils"})
print("FITTED", " ".join(fitted))
print("BLOCKED", " ".join(sorted(blocked)))
print("EXTRAS", " ".join(extras))
''')


# ----------------------------------------------------------------------------- 1. the install
def test_install_requires_holds_pytorch_msssim():
    import ast

    tree = ast.parse((ROOT / "setup.py").read_text())
    reqs = next(ast.literal_eval(k.value) for k in ast.walk(tree)
                if isinstance(k, ast.keyword) and k.arg == "install_requires")
    assert any(r.startswith("pytorch-msssim") for r in reqs)


def test_base_install_fits_every_public_estimator(tmp_path):
    script = tmp_path / "base_install.py"
    script.write_text(_BASE_INSTALL)
    run = subprocess.run([sys.executable, str(script), str(ROOT / "setup.py")], cwd=tmp_path,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    fitted = run.stdout.split("FITTED")[1].split("\n")[0].split()
    public = [n for n in galaxy_learn.__all__ if isinstance(getattr(galaxy_learn, n), type)]
    assert fitted == public and "ContrastiveDenoiser" in fitted
    blocked = set(run.stdout.split("BLOCKED")[1].split("\n")[0].split())
    installed = {m for m in OPTIONAL if _installed(m)}
    assert installed <= blocked and {"galsim", "sep"} <= installed  # the block was real


def _installed(module):
    import importlib.util

    return importlib.util.find_spec(module) is not None


def test_import_loads_no_optional_dependency():
    code = ("import sys, galaxy_learn, galaxy_learn.cli; "
            f"print(sorted(m for m in {OPTIONAL!r} if m in sys.modules))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"


# ----------------------------------------------------------------------------- shared inputs
@pytest.fixture(scope="module")
def cutouts():
    from galaxy_learn.datasets import make_star_galaxy_cutouts

    X, _, _ = make_star_galaxy_cutouts(40, random_state=3)
    return X


def _fits_dir(folder, X, n_bad):
    """One FITS cube per cutout, then ``n_bad`` broken files of four kinds."""
    from astropy.io import fits

    folder.mkdir()
    for k, cube in enumerate(X):
        fits.PrimaryHDU(cube).writeto(folder / f"obj{k:03d}.fits")
    bad = []
    for k in range(n_bad):
        path = folder / f"zbad{k}.fits"
        kind = k % 4
        if kind == 0:  # not FITS at all
            path.write_bytes(b"SIMPLE  = junk" * 10)
        elif kind == 1:  # NaN pixels
            cube = X[0].copy()
            cube[2, 5, 5] = np.nan
            fits.PrimaryHDU(cube).writeto(path)
        elif kind == 2:  # truncated
            fits.PrimaryHDU(X[0]).writeto(path)
            path.write_bytes(path.read_bytes()[:4000])
        else:  # another size
            fits.PrimaryHDU(X[0][:, :32, :32]).writeto(path)
        bad.append(path)
    return bad


# ----------------------------------------------------------------------------- 2. batches
def test_batch_skips_bad_files_api(cutouts, tmp_path):
    bad = _fits_dir(tmp_path / "d", cutouts[:36], 4)
    batch = _io.read_cutout_batch([tmp_path / "d"], on_error="skip")
    assert batch.X.shape == (36, 5, 64, 64) and len(batch.index) == 36
    assert sorted(Path(f).name for f, _ in batch.failed) == sorted(p.name for p in bad)
    reasons = dict((Path(f).name, r) for f, r in batch.failed)
    assert "--fill-nan" in reasons["zbad1.fits"] and "(5, 32, 32)" in reasons["zbad3.fits"]
    with pytest.raises(ValueError, match="zbad0.fits"):
        _io.read_cutout_batch([tmp_path / "d"], on_error="raise")


def test_classify_batch_with_corrupt_files_keeps_good_rows(cutouts, tmp_path, capsys):
    _fits_dir(tmp_path / "d", cutouts[:30], 4)
    np.save(tmp_path / "d" / "more.npy", cutouts[30:36])  # .npy and FITS together
    out = tmp_path / "out.csv"
    argv = ["classify", str(tmp_path / "d"), "-o", str(out), "--max-epochs", "1",
            "--batch-size", "16", "-q", "--device", "cpu"]
    assert main(argv) == EXIT_PARTIAL
    err = capsys.readouterr().err
    assert "skipped 4 of 35 input file(s)" in err and "exit code 3" in err
    assert all(f"zbad{k}.fits" in err for k in range(4)) and "Traceback" not in err
    table = pd.read_csv(out, keep_default_na=False)
    # 10. the documented columns, for FITS and .npy rows alike
    assert list(table.columns) == ["file", "index", "id", "label", "score"]
    assert len(table) == 36 and set(table["label"]) <= {"POINT", "GALAXY"}
    fits_rows = table[table["file"].str.endswith(".fits")]
    npy_rows = table[table["file"].str.endswith(".npy")]
    assert list(npy_rows["index"]) == list(range(6)) and (npy_rows["id"] == "").all()
    assert (fits_rows["index"] == 0).all() and fits_rows["id"].iloc[0] == "obj000"
    # --on-error raise: stops at the first bad file, exit 1
    out.unlink()
    assert main(argv + ["--on-error", "raise"]) == EXIT_ERROR
    assert "zbad0.fits" in capsys.readouterr().err and not out.exists()


def test_rows_are_written_as_produced(cutouts, tmp_path, monkeypatch, capsys):
    for k in range(4):
        np.save(tmp_path / f"part{k}.npy", cutouts[10 * k:10 * k + 10])
    monkeypatch.setattr(_io, "_CHUNK_ROWS", 10)
    real, calls = _io.classification_table, []

    def interrupted_at_third(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(_io, "classification_table", interrupted_at_third)
    out = tmp_path / "out.csv"
    code = main(["classify", str(tmp_path), "-o", str(out), "--max-epochs", "1",
                 "--batch-size", "16", "-q", "--device", "cpu"])
    assert code == EXIT_INTERRUPTED
    table = pd.read_csv(out)
    assert len(table) == 20 and table["file"].str.endswith(("part0.npy", "part1.npy")).all()


def test_denoise_batch_with_corrupt_files(cutouts, tmp_path, capsys):
    _fits_dir(tmp_path / "d", cutouts[:12], 2)
    out, model = tmp_path / "clean.npy", tmp_path / "den.glm"
    code = main(["denoise", str(tmp_path / "d"), "-o", str(out), "--max-epochs", "1", "-q",
                 "--device", "cpu", "--model", str(model)])
    assert code == EXIT_PARTIAL
    assert "skipped 2 of 14 input file(s)" in capsys.readouterr().err
    clean = np.load(out)
    assert clean.shape == (12, 5, 64, 64) and np.isfinite(clean).all()
    # 3. left out, --batch-size is the estimator's default (16), not the CLI's old 128
    assert persistence.load(model, allow_pickle=True).batch_size == (
        galaxy_learn.ContrastiveDenoiser().batch_size)


# ----------------------------------------------------------------------------- 4. channel-last
def test_channel_last_refused_api_and_cli(tmp_path, capsys):
    X = np.zeros((4, 32, 32, 3), dtype=np.float32)
    with pytest.raises(ValueError, match=r"channel-last.*np\.moveaxis\(X, -1, 1\)"):
        galaxy_learn.ContrastiveDenoiser(max_epochs=1).fit(X)
    np.save(tmp_path / "rgb.npy", X)
    code = main(["denoise", str(tmp_path / "rgb.npy"), "-o", str(tmp_path / "o.npy"), "-q"])
    assert code == EXIT_ERROR
    err = capsys.readouterr().err
    assert "channel-last" in err and "np.moveaxis(X, -1, 1)" in err


@settings(max_examples=200, deadline=None)
@given(n=st.integers(1, 3), c=st.integers(1, 64), h=st.integers(1, 300), w=st.integers(5, 300))
def test_channel_first_stacks_are_never_refused(n, c, h, w):
    """Any stack whose images are at least 5 pixels wide passes, whatever its band count."""
    assert not looks_channel_last((n, c, h, w))


@settings(max_examples=200, deadline=None)
@given(n=st.integers(1, 3), h=st.integers(17, 2000), w=st.integers(17, 2000),
       c=st.integers(1, 4))
def test_channel_last_stacks_are_always_refused(n, h, w, c):
    assert looks_channel_last((n, h, w, c))


@pytest.mark.parametrize("shape", [(2, 5, 64, 64), (2, 1, 20, 20), (2, 3, 424, 424),
                                   (2, 16, 17, 4), (2, 17, 16, 3), (2, 64, 64, 5)])
def test_legit_shapes_pass_check_images(shape):
    assert check_images(np.zeros(shape)).shape == shape


# ----------------------------------------------------------------------------- 5. 2-D FITS
def _frame(path, *, band="r", size=64):
    from astropy.io import fits

    from galaxy_learn.datasets import make_sky_field

    field, _, _ = make_sky_field((size, size), random_state=0)
    hdu = fits.PrimaryHDU(field[2])
    if band is not None:
        hdu.header["FILTER"] = band
    hdu.writeto(path)
    return field[2]


def test_single_band_fits_api(tmp_path):
    from galaxy_learn.datasets import load_fits_cutouts

    frame = _frame(tmp_path / "frame.fits")
    with pytest.raises(ValueError, match=r"single 2-D image \(band 'r'.*--bands r"):
        load_fits_cutouts([tmp_path / "frame.fits"], bands="ugriz")
    X, _ = load_fits_cutouts([tmp_path / "frame.fits"], bands="r")
    np.testing.assert_allclose(X[0, 0], frame, rtol=1e-6)
    assert _io.infer_bands([tmp_path / "frame.fits"]) == ["r"]
    np.testing.assert_allclose(_io.read_field(tmp_path / "frame.fits")[0], frame, rtol=1e-6)


def test_single_band_fits_cli(tmp_path, capsys):
    from astropy.io import fits

    _frame(tmp_path / "frame.fits")
    mask = tmp_path / "m.fits"
    code = main(["segment", str(tmp_path / "frame.fits"), "-o", str(mask), "--max-epochs", "1",
                 "-q", "--device", "cpu"])
    assert code == EXIT_OK, capsys.readouterr().err
    assert fits.getdata(mask).shape == (64, 64)
    code = main(["segment", str(tmp_path / "frame.fits"), "-o", str(mask), "--bands", "ugriz",
                 "-q"])
    assert code == EXIT_ERROR and "--bands r" in capsys.readouterr().err


# ----------------------------------------------------------------------------- 6. NaN
def test_nan_error_names_a_flag_that_exists(cutouts, tmp_path, capsys):
    X = cutouts[:8].copy()
    X[3, 1, 10, 10] = np.nan
    np.save(tmp_path / "nan.npy", X)
    argv = ["classify", str(tmp_path / "nan.npy"), "-o", str(tmp_path / "o.csv"), "-q",
            "--max-epochs", "1", "--batch-size", "4", "--device", "cpu"]
    assert main(argv) == EXIT_ERROR
    err = capsys.readouterr().err
    assert "1 NaN/inf pixel value(s) in 1 cutout(s)" in err and "allow_nan" not in err
    import re

    flags = set(re.findall(r"--[a-z][a-z-]+", err))
    known = {s for a in build_parser()._subparsers._group_actions[0].choices["classify"]._actions
             for s in a.option_strings}
    assert flags == {"--fill-nan"} and flags <= known
    assert main(argv + ["--fill-nan"]) == EXIT_OK
    assert len(pd.read_csv(tmp_path / "o.csv")) == 8
    # API: the fill is the median of the cutout's band, the input untouched
    filled = _io.fill_nonfinite(X)
    assert filled[3, 1, 10, 10] == np.nanmedian(X[3, 1]) and np.isnan(X[3, 1, 10, 10])


# ----------------------------------------------------------------------------- 7. --model files
@pytest.fixture(scope="module")
def glm(tmp_path_factory):
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(0)
    path = tmp_path_factory.mktemp("glm") / "m.glm"
    return persistence.save(StandardScaler().fit(rng.normal(size=(50, 200))), path)


def test_damaged_model_files_api(glm, tmp_path):
    data = glm.read_bytes()
    (tmp_path / "t.glm").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"damaged or truncated \(checksum mismatch"):
        persistence.load(tmp_path / "t.glm", allow_pickle=True)
    with pytest.raises(ValueError, match="damaged or truncated"):
        persistence.read_metadata(tmp_path / "t.glm")
    with pytest.raises(IsADirectoryError, match="is a directory"):
        persistence.load(tmp_path, allow_pickle=True)


@settings(max_examples=40, deadline=None)
@given(frac=st.floats(0.0, 0.9999))
def test_a_flipped_byte_is_refused_or_harmless(glm, frac):
    """One flipped byte anywhere: "damaged or truncated", or (a byte zip never reads, such as a
    timestamp) the very same model. Never a raw zip/pickle error, never another model."""
    original = persistence.load(glm, allow_pickle=True)
    data = bytearray(glm.read_bytes())
    pos = int(frac * len(data))
    data[pos] ^= 0xFF
    path = glm.with_name(f"flip{pos}.glm")
    path.write_bytes(bytes(data))
    try:
        loaded = persistence.load(path, allow_pickle=True)
    except ValueError as exc:
        assert "damaged or truncated" in str(exc)
    else:
        np.testing.assert_array_equal(loaded.mean_, original.mean_)
    finally:
        path.unlink()


def test_a_damaged_zip_version_field_is_refused(glm):
    """A flipped byte in the central directory's "version needed to extract" field made
    zipfile raise NotImplementedError ("zip file version 23.5"; found by the property test
    above): it is a damaged file like any other."""
    data = bytearray(glm.read_bytes())
    pos = data.index(b"PK\x01\x02") + 6  # central directory: version needed to extract
    data[pos] = 0xEB
    path = glm.with_name("version.glm")
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="damaged or truncated"):
        persistence.load(path, allow_pickle=True)


@pytest.mark.parametrize("kind", ["text", "dict", "directory", "truncated", "wrong-model"])
def test_model_option_on_non_models(kind, glm, cutouts, tmp_path, capsys):
    np.save(tmp_path / "x.npy", cutouts[:4])
    model = tmp_path / "model.glm"
    if kind == "text":
        model.write_text("hello")
    elif kind == "dict":
        persistence.save({"a": 1}, model)
    elif kind == "directory":
        model.mkdir()
    elif kind == "truncated":
        model.write_bytes(glm.read_bytes()[:1000])
    else:
        model.write_bytes(glm.read_bytes())  # a StandardScaler: has no predict
    code = main(["classify", str(tmp_path / "x.npy"), "-o", str(tmp_path / "o.csv"),
                 "--model", str(model), "-q"])
    err = capsys.readouterr().err
    assert code == EXIT_ERROR and "Traceback" not in err and err.count("\n") == 1
    expected = {"text": "is not a galaxy_learn model", "dict": "holds a dict, not a fitted "
                "estimator with predict()", "directory": "is a directory",
                "truncated": "damaged or truncated", "wrong-model": "holds a StandardScaler"}
    assert expected[kind] in err


# ----------------------------------------------------------------------------- 8. outputs first
@pytest.mark.parametrize(("output", "match"), [("d.txt", r"must end in \.npy or \.fits"),
                                               ("nodir/d.npy", "does not exist; create it")])
def test_output_checked_before_training(output, match, cutouts, tmp_path, monkeypatch, capsys):
    def no_fit(*args, **kwargs):
        raise AssertionError("fit must not start")

    monkeypatch.setattr(galaxy_learn.ContrastiveDenoiser, "fit", no_fit)
    np.save(tmp_path / "x.npy", cutouts[:4])
    code = main(["denoise", str(tmp_path / "x.npy"), "-o", str(tmp_path / output), "-q"])
    err = capsys.readouterr().err
    assert code == EXIT_ERROR and re.search(match, err)
    assert not (tmp_path / "nodir").exists()
    with pytest.raises((ValueError, OSError), match=match):
        _io.check_output_path(tmp_path / output, (".npy", ".fits"))


# ----------------------------------------------------------------------------- 9. 1e30 pixel
def test_extreme_pixel_is_named_api_and_cli(cutouts, tmp_path, capsys):
    X = cutouts[:6].copy()
    X[2, 3, 7, 9] = 1e30
    params = dict(base_channels=2, depth=1, embedding_dim=2, projection_dim=2, max_epochs=1,
                  device="cpu")
    with pytest.raises(ValueError, match=r"extreme pixel value 1e\+30 \(sample 2, band 3, "
                                         r"pixel \(y=7, x=9\)\).*dynamic range"):
        galaxy_learn.ContrastiveDenoiser(**params).fit(X)
    np.save(tmp_path / "x.npy", X)
    code = main(["denoise", str(tmp_path / "x.npy"), "-o", str(tmp_path / "o.npy"), "-q",
                 "--max-epochs", "1", "--device", "cpu"])
    err = capsys.readouterr().err
    assert code == EXIT_ERROR and "extreme pixel value 1e+30" in err and "'lr'" not in err


def test_bright_stars_are_not_extreme(cutouts):
    from galaxy_learn.utils import check_dynamic_range

    X = cutouts[:6].copy()
    X[1, 2, 30:34, 30:34] = 1e6  # a saturated star: 1e6 nanomaggies over ~0.01 of sky noise
    assert check_dynamic_range(X) is X


# ----------------------------------------------------------------------------- 11. noise
def test_no_skorch_reinitializing_notices(cutouts, tmp_path, capsys):
    enc = galaxy_learn.VAEEncoder(max_epochs=1, batch_size=8, channels=(4,), hidden_units=8,
                                  n_ensemble=2, verbose=1, device="cpu")
    enc.fit(cutouts[:16])
    out = capsys.readouterr()
    assert "Re-initializing" not in out.out + out.err
    assert "ensemble member 2/2" in out.out  # verbose still speaks
    np.save(tmp_path / "x.npy", cutouts[:16])
    code = main(["classify", str(tmp_path / "x.npy"), "-o", str(tmp_path / "o.csv"),
                 "--max-epochs", "1", "--batch-size", "8", "--device", "cpu"])
    out = capsys.readouterr()
    assert code == EXIT_OK and "Re-initializing" not in out.out + out.err
