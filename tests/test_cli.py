"""The galaxy-learn command line: argument handling, errors and exit codes, file I/O."""
import numpy as np
import pandas as pd
import pytest

from galaxy_learn import _io
from galaxy_learn.cli import EXIT_ERROR, EXIT_USAGE, build_parser, main


def test_help_and_version(capsys):
    assert main(["--help"]) == 0
    assert "classify" in capsys.readouterr().out
    assert main(["--version"]) == 0
    assert "galaxy-learn" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        ([], "required: COMMAND"),
        (["nope"], "invalid choice: 'nope'"),
        (["classify", "x.npy"], "required: -o/--output"),
        (["classify", "x.npy", "-o", "o.csv", "--class-prior", "1.5"],
         "strictly between 0 and 1, got '1.5'"),
        (["classify", "x.npy", "-o", "o.csv", "--prior", "gauss"], "invalid choice: 'gauss'"),
        (["denoise", "x.npy", "-o", "o.npy", "--max-epochs", "0"], "positive integer, got '0'"),
        (["demo", "--n-samples", "ten"], "positive integer, got 'ten'"),
    ],
)
def test_usage_errors_exit_2_with_message(argv, match, capsys):
    assert main(argv) == EXIT_USAGE
    assert match in capsys.readouterr().err


def test_missing_input_is_a_clear_error(tmp_path, capsys):
    code = main(["classify", str(tmp_path / "none.npy"), "-o", str(tmp_path / "o.csv"), "-q"])
    assert code == EXIT_ERROR
    err = capsys.readouterr().err
    assert err.startswith("galaxy-learn classify: error:") and "none.npy" in err
    assert "Traceback" not in err


def test_parser_defaults():
    args = build_parser().parse_args(["classify", "d", "-o", "o.csv"])
    assert (args.prior, args.class_prior, args.device, args.model) == ("dkl", 0.4, "auto", None)


def test_read_cutouts_from_files_and_folders(tmp_path, rng):
    a = rng.normal(size=(3, 2, 8, 8)).astype(np.float32)
    b = rng.normal(size=(2, 8, 8)).astype(np.float32)  # a single cutout
    (tmp_path / "d").mkdir()
    np.save(tmp_path / "d" / "a.npy", a)
    _io.write_fits(b, tmp_path / "d" / "b.fits")
    X, index = _io.read_cutouts([tmp_path / "d"])
    np.testing.assert_array_equal(X, np.concatenate([a, b[None]]))
    assert list(index["index"]) == [0, 1, 2, 0]
    assert index["file"].str.endswith(("a.npy", "b.fits")).all()


def test_read_sdss_structured_npy_needs_opt_in(tmp_path, rng):
    dtype = [("objID", "i8"), ("image", "O"), ("class", "O"), ("z", "f8")]
    recs = np.empty(2, dtype=dtype)
    for i in range(2):
        recs[i] = (100 + i, rng.normal(size=(5, 4, 4)).astype(np.float32), "STAR", 0.0)
    np.save(tmp_path / "s.npy", recs, allow_pickle=True)
    with pytest.raises(ValueError, match="--allow-pickle"):
        _io.read_cutouts([tmp_path / "s.npy"])
    X, index = _io.read_cutouts([tmp_path / "s.npy"], allow_pickle=True)
    assert X.shape == (2, 5, 4, 4) and list(index["objID"]) == [100, 101]
    assert list(index["class"]) == ["STAR", "STAR"]


@pytest.mark.parametrize(
    ("setup", "match"),
    [
        (lambda p: np.save(p / "x.npy", np.zeros((2, 3, 4, 4, 1))), "shape"),
        (lambda p: (p / "x.txt").write_text("hi"), "neither a .npy nor a FITS"),
        (lambda p: (p / "x.fits").write_bytes(b"SIMPLE  = junk"), "Could not read FITS"),
    ],
)
def test_bad_files_are_named(tmp_path, setup, match):
    setup(tmp_path)
    path = next(tmp_path.iterdir())
    with pytest.raises(ValueError, match=match) as info:
        _io.read_cutouts([path])
    assert path.name in str(info.value)


def test_mismatched_cutouts_and_empty_dir(tmp_path):
    np.save(tmp_path / "a.npy", np.zeros((1, 2, 4, 4), np.float32))
    np.save(tmp_path / "b.npy", np.zeros((1, 3, 4, 4), np.float32))
    with pytest.raises(ValueError, match="all inputs must share bands and size"):
        _io.read_cutouts([tmp_path])
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no .npy or .fits"):
        _io.read_cutouts([tmp_path / "empty"])


def test_write_images_and_table(tmp_path):
    imgs = np.ones((2, 1, 3, 3), np.float32)
    _io.write_images(imgs, tmp_path / "o.npy")
    np.testing.assert_array_equal(np.load(tmp_path / "o.npy"), imgs)
    X, _ = _io.read_cutouts([_io.write_images(imgs, tmp_path / "o.fits")])
    np.testing.assert_array_equal(X, imgs)
    with pytest.raises(ValueError, match=r"must end in \.npy or \.fits"):
        _io.write_images(imgs, tmp_path / "o.png")
    _io.write_table(pd.DataFrame({"a": [1]}), tmp_path / "t" / "o.csv")
    assert (tmp_path / "t" / "o.csv").read_text().splitlines() == ["a", "1"]
