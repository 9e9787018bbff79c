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


def test_parser_defaults_are_the_estimators():
    """Options left out are None: the estimators' own defaults apply (one place for them)."""
    import galaxy_learn
    from galaxy_learn.demo import make_denoiser, make_segmenter, make_unsupervised_pipeline
    from galaxy_learn.losses import PRIORS

    parser = build_parser()
    args = parser.parse_args(["classify", "d", "-o", "o.csv"])
    assert (args.prior, args.class_prior, args.max_epochs, args.batch_size) == (None,) * 4
    assert (args.device, args.model, args.on_error, args.fill_nan) == ("auto", None, "skip", False)
    for command in ("segment", "denoise"):
        args = parser.parse_args([command, "d", "-o", "o.fits"])
        assert (args.max_epochs, args.batch_size) == (None, None)
    pipe = make_unsupervised_pipeline()
    vae, clf = pipe.named_steps["vaeencoder"], pipe.named_steps["thresholdclassifier"]
    ref_vae, ref_clf = galaxy_learn.VAEEncoder(), galaxy_learn.ThresholdClassifier()
    for name in ("prior", "max_epochs", "batch_size"):
        assert vae.get_params()[name] == ref_vae.get_params()[name]
    assert clf.class_prior == ref_clf.class_prior
    den, ref_den = make_denoiser(), galaxy_learn.ContrastiveDenoiser()
    assert (den.batch_size, den.max_epochs) == (ref_den.batch_size, ref_den.max_epochs)
    ext, ref_ext = make_segmenter().extractor, galaxy_learn.HypercolumnExtractor()
    assert (ext.batch_size, ext.max_epochs) == (ref_ext.batch_size, ref_ext.max_epochs)
    # choices come from the library's registry, and help shows the real defaults
    prior_action = next(a for a in parser._subparsers._group_actions[0].choices["classify"]
                        ._actions if a.dest == "prior")
    assert sorted(prior_action.choices) == sorted(PRIORS)
    sub = parser._subparsers._group_actions[0].choices
    denoise_help = " ".join(sub["denoise"].format_help().split())  # unwrapped
    assert f"(default: ContrastiveDenoiser's default, {ref_den.batch_size})" in denoise_help
    assert "3 partial" in " ".join(sub["classify"].format_help().split())


def test_read_cutouts_from_files_and_folders(tmp_path, rng):
    a = rng.normal(size=(3, 2, 8, 8)).astype(np.float32)
    b = rng.normal(size=(2, 8, 8)).astype(np.float32)  # a single FITS cube
    (tmp_path / "d").mkdir()
    np.save(tmp_path / "d" / "a.npy", a)
    _io.write_fits(b, tmp_path / "d" / "b.fits")
    X, index = _io.read_cutouts([tmp_path / "d"], bands="gr")
    np.testing.assert_array_equal(X, np.concatenate([a, b[None]]))
    assert index["file"].str.endswith(("a.npy", "b.fits")).all() and len(index) == 4
    assert list(index.columns[:3]) == ["file", "index", "id"]
    assert list(index["index"]) == [0, 1, 2, 0] and list(index["id"]) == ["", "", "", "b"]


def test_read_sdss_structured_npy(tmp_path, rng):
    dtype = [("objID", "<i8"), ("image", "<f4", (5, 4, 4)), ("class", "<U6"), ("z", "<f8")]
    recs = np.zeros(2, dtype=dtype)
    recs["objID"], recs["class"] = [100, 101], ["STAR", "GALAXY"]
    recs["image"] = rng.normal(size=(2, 5, 4, 4))
    np.save(tmp_path / "s.npy", recs)
    X, index = _io.read_cutouts([tmp_path / "s.npy"])
    np.testing.assert_array_equal(X, recs["image"])
    assert list(index["objID"]) == [100, 101] and list(index["class"]) == ["STAR", "GALAXY"]
    assert list(index["id"]) == ["100", "101"] and list(index["index"]) == [0, 1]
    # Object arrays need the explicit opt-in (unpickling runs code).
    np.save(tmp_path / "o.npy", np.array([recs["image"][0]], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="allow_pickle=True only for files you trust"):
        _io.read_cutouts([tmp_path / "o.npy"])


@pytest.mark.parametrize(
    ("setup", "match"),
    [
        (lambda p: np.save(p / "x.npy", np.zeros((2, 3, 4, 4, 1))), "x.npy"),
        (lambda p: (p / "x.txt").write_text("hi"), "neither a .npy nor a FITS"),
        (lambda p: (p / "x.fits").write_bytes(b"SIMPLE  = junk"), "x.fits"),
    ],
)
def test_bad_files_are_named(tmp_path, setup, match):
    setup(tmp_path)
    path = next(tmp_path.iterdir())
    with pytest.raises((ValueError, OSError), match=match):
        _io.read_cutouts([path])


def test_cli_reports_bad_file_in_one_line(tmp_path, capsys):
    (tmp_path / "x.fits").write_bytes(b"SIMPLE  = junk")
    code = main(["classify", str(tmp_path / "x.fits"), "-o", str(tmp_path / "o.csv"), "-q"])
    err = capsys.readouterr().err
    assert code == EXIT_ERROR and "x.fits" in err and "Traceback" not in err


def test_mismatched_cutouts_and_empty_dir(tmp_path):
    np.save(tmp_path / "a.npy", np.zeros((1, 2, 4, 4), np.float32))
    np.save(tmp_path / "b.npy", np.zeros((1, 3, 4, 4), np.float32))
    with pytest.raises(ValueError, match="b.npy"):
        _io.read_cutouts([tmp_path])
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no .npy or .fits"):
        _io.read_cutouts([tmp_path / "empty"])


def test_write_images_and_table(tmp_path):
    imgs = np.ones((2, 1, 3, 3), np.float32)
    _io.write_images(imgs, tmp_path / "o.npy")
    np.testing.assert_array_equal(np.load(tmp_path / "o.npy"), imgs)
    _io.write_images(imgs[0], tmp_path / "o.fits")
    X, _ = _io.read_cutouts([tmp_path / "o.fits"], bands="u")
    np.testing.assert_array_equal(X, imgs[:1])
    with pytest.raises(ValueError, match=r"must end in \.npy or \.fits"):
        _io.write_images(imgs, tmp_path / "o.png")
    _io.write_table(pd.DataFrame({"a": [1]}), tmp_path / "o.csv")
    assert (tmp_path / "o.csv").read_text().splitlines() == ["a", "1"]
    # a missing folder is an error, never created silently
    with pytest.raises(FileNotFoundError, match="does not exist; create it first"):
        _io.write_images(imgs, tmp_path / "t" / "o.npy")
    assert not (tmp_path / "t").exists()
