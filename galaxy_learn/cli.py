"""The ``galaxy-learn`` command line: parse arguments, build an estimator, fit/predict, write.

No science lives here: each subcommand calls library functions (``galaxy_learn.demo``,
``galaxy_learn._io``, the estimators, ``galaxy_learn.persistence``). Options left out mean the
estimator's own default (argparse defaults of None), so the command line and the library agree.

Exit codes: 0 success, 1 an error in the data, files or model (the message goes to stderr),
2 a usage error (argparse), 3 partial success (some input files could not be read and were
skipped; they are listed on stderr), 130 interrupted.
"""
import argparse
import sys
from pathlib import Path

from ._version import __version__

__all__ = ["main"]

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_PARTIAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130

_EXIT_CODES = (
    "exit codes: 0 success, 1 error (one line on stderr), 2 usage error, 3 partial: some input "
    "files could not be read and were skipped (count and list on stderr; the output holds "
    "every other file), 130 interrupted"
)
_CSV = (".csv",)
_IMAGES = (".npy", ".fits", ".fit", ".fts", ".fits.gz", ".fit.gz")
_FITS = _IMAGES[1:]


class CLIError(Exception):
    """An error the user can fix; reported as one line on stderr with exit code 1."""


def _priors():
    """Names of the latent priors: the library's registry (``galaxy_learn.losses.PRIORS``)."""
    from .losses import PRIORS

    return sorted(PRIORS)


def _default(estimator, param):
    """``"<Estimator>'s default, <value>"``: the value the library uses when the option is left
    out (read from the estimator itself, so help and behaviour cannot drift apart)."""
    import galaxy_learn

    value = getattr(galaxy_learn, estimator)().get_params()[param]
    return f"{estimator}'s default, {value}"


def _fraction(text):
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is None or not 0.0 < value < 1.0:
        msg = f"must be a number strictly between 0 and 1, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return value


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        msg = f"must be a positive integer, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return value


def _add_common(parser, *, model=True):
    parser.add_argument("--device", default="auto",
                        help="'auto' (a GPU when visible), 'cpu', 'cuda' or 'cuda:N' (default: auto)")
    parser.add_argument("--random-state", type=int, default=0, metavar="SEED",
                        help="seed of every random choice (default: 0)")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="no progress bars or messages (errors and skipped files are still "
                             "reported on stderr)")
    if model:
        parser.add_argument(
            "--model", type=Path, metavar="PATH",
            help="a fitted model saved by this command: reused when the file exists, else "
                 "fitted and saved there (its folder must exist). A model file holds a Python "
                 "pickle: only reuse files you trust.")
        parser.add_argument("--refit", action="store_true",
                            help="fit even when --model exists, and overwrite it")


def _add_training(parser, estimator):
    parser.add_argument("--max-epochs", type=_positive_int, default=None, metavar="N",
                        help=f"training epochs (default: {_default(estimator, 'max_epochs')})")
    parser.add_argument("--batch-size", type=_positive_int, default=None, metavar="N",
                        help=f"mini-batch size (default: {_default(estimator, 'batch_size')})")


def _add_inputs(parser):
    parser.add_argument("inputs", nargs="+", type=Path, metavar="INPUT",
                        help="cutout files (.npy, .fits) or directories of them")
    parser.add_argument("--allow-pickle", action="store_true",
                        help="allow .npy files holding object arrays (the SDSS structured format); "
                             "unpickling can run code from the file: only for files you trust")
    _add_bands(parser, "FITS inputs")
    parser.add_argument("--fill-nan", action="store_true",
                        help="replace NaN/inf pixels by the median of their cutout and band "
                             "(default: a file with such pixels is an error)")
    parser.add_argument("--on-error", choices=("skip", "raise"), default="skip",
                        help="a file that cannot be read: 'skip' it (listed on stderr, exit code "
                             "3) or 'raise' (stop with exit code 1) (default: skip)")


def _add_bands(parser, what):
    parser.add_argument("--bands", default=None,
                        help=f"band names of the {what}, in order, e.g. ugriz or r (default: the "
                             "FILTER keyword of a file holding one 2-D image, else ugriz)")


def build_parser():
    """The argument parser of ``galaxy-learn`` (exposed for the docs and the tests)."""
    priors = _priors()
    parser = argparse.ArgumentParser(
        prog="galaxy-learn",
        description="Unsupervised star/galaxy separation, segmentation and denoising of "
                    "astronomical cutouts (scikit-learn estimators on PyTorch).",
        epilog=_EXIT_CODES,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    demo = sub.add_parser(
        "demo", help="simulate a survey sample, fit the unsupervised pipeline, report and plot",
        description="Simulate star/galaxy cutouts, fit Pipeline([VAEEncoder(prior), Isomap(), "
                    "ThresholdClassifier()]) without labels, print AUC and accuracy per magnitude "
                    "bin beside the concentration index, and write results.csv and figures.",
        epilog=_EXIT_CODES)
    demo.add_argument("-o", "--out", type=Path, default=Path("galaxy_learn_demo"),
                      help="folder for the figures and tables (default: galaxy_learn_demo)")
    demo.add_argument("--n-samples", type=_positive_int, default=None, metavar="N",
                      help="simulated cutouts (default: 3000, or 300 with --quick)")
    demo.add_argument("--prior", choices=priors, default=None,
                      help=f"latent prior (default: {_default('VAEEncoder', 'prior')})")
    demo.add_argument("--class-prior", type=_fraction, default=None, metavar="P",
                      help="fraction of point sources assumed by the threshold (default: "
                           f"{_default('ThresholdClassifier', 'class_prior')})")
    demo.add_argument("--quick", action="store_true",
                      help="smoke run in seconds, for tests: 300 cutouts, a smaller network, 1 "
                           "epoch (explicit small settings, not the estimators' defaults)")
    demo.add_argument("--max-epochs", type=_positive_int, default=None, metavar="N",
                      help="VAE training epochs (default: VAEEncoder's default, or 1 with "
                           "--quick)")
    demo.add_argument("--no-figures", action="store_true", help="skip the figures")
    demo.add_argument("--psf", action="store_true",
                      help="PSF-aware run: give the encoder each cutout's PSF FWHM (psf_fwhm) and "
                           "measure the concentration index on the same PSF-matched cutouts")
    _add_common(demo)

    classify = sub.add_parser(
        "classify", help="label cutouts star / galaxy without labels",
        description="Fit (or reuse with --model) Pipeline([VAEEncoder(prior), Isomap(), "
                    "ThresholdClassifier(class_prior)]) on the cutouts and write one CSV row per "
                    "cutout, with the columns file, index, id, label, score (file: the input "
                    "file; index: the cutout's position in it, 0 for a one-object FITS file; "
                    "id: the FITS object id or the SDSS objID, empty for plain arrays; label: "
                    "POINT or GALAXY; score: the decision function), then psf_fwhm_<band> with "
                    "--psf. Rows are written file by file as they are produced.",
        epilog=_EXIT_CODES)
    _add_inputs(classify)
    classify.add_argument("-o", "--output", type=Path, required=True, metavar="CSV",
                          help="output CSV file (.csv; its folder must exist)")
    classify.add_argument("--prior", choices=priors, default=None,
                          help=f"latent prior (default: {_default('VAEEncoder', 'prior')})")
    classify.add_argument("--class-prior", type=_fraction, default=None, metavar="P",
                          help="fraction of point sources (stars, quasars) among the inputs "
                               f"(default: {_default('ThresholdClassifier', 'class_prior')})")
    classify.add_argument("--psf", action="store_true",
                          help="PSF-aware: resample every cutout to one PSF width, read per band "
                               "from the FITS headers (PSF_FWHM, PSFFWHM, PSFSIZE, SEEING or FWHM)")
    _add_training(classify, "VAEEncoder")
    _add_common(classify)

    segment = sub.add_parser(
        "segment", help="segment a multi-band field into objects",
        description="Fit (or reuse with --model) the unsupervised hypercolumn segmenter on a field "
                    "and write its object map as FITS.",
        epilog=_EXIT_CODES)
    segment.add_argument("field", type=Path, metavar="FIELD.fits",
                         help="a FITS image (bands, height, width), or (height, width): one band")
    _add_bands(segment, "field's planes")
    segment.add_argument("--fill-nan", action="store_true",
                         help="replace NaN/inf pixels by the median of their band (default: "
                              "such pixels are an error)")
    segment.add_argument("-o", "--output", type=Path, required=True, metavar="MASK.fits",
                         help="output FITS object map (0 = background, k = object k; its folder "
                              "must exist)")
    _add_training(segment, "HypercolumnExtractor")
    _add_common(segment)

    denoise = sub.add_parser(
        "denoise", help="denoise cutouts with the contrastive U-Net denoiser",
        description="Fit (or reuse with --model) ContrastiveDenoiser on the cutouts and write the "
                    "denoised images (.npy or .fits, by the output's extension), in input order "
                    "without the skipped files. A .npy output is filled file by file as it is "
                    "produced.",
        epilog=_EXIT_CODES)
    _add_inputs(denoise)
    denoise.add_argument("-o", "--output", type=Path, required=True, metavar="OUT",
                         help="output file: .npy or .fits (its folder must exist)")
    _add_training(denoise, "ContrastiveDenoiser")
    _add_common(denoise)

    catalog = sub.add_parser(
        "catalog", help="detect, measure and classify the objects of survey fields",
        description="For each field (one calibrated FITS frame per band with its WCS, in one "
                    "directory, e.g. the five SDSS frame-[ugriz]-*.fits.bz2 files): align the "
                    "bands through their WCS, detect objects on the reference band (background "
                    "and noise measured), measure aperture fluxes and AB magnitudes "
                    "per band with edge/masked/saturated flags, classify star/galaxy with the "
                    "label-free line fitted on the field (or --model), and write "
                    "OUT/<field>_catalog.fits|csv, <field>_classmap.fits (0 background, 1 galaxy, "
                    "2 star; the reference band's WCS) and <field>_quicklook.png.",
        epilog=_EXIT_CODES)
    catalog.add_argument("fields", nargs="+", type=Path, metavar="FIELD",
                         help="a field's directory of frames; several fields: several "
                              "directories (a field that fails is skipped and listed)")
    catalog.add_argument("-o", "--output-dir", type=Path, required=True, metavar="OUT",
                         help="existing folder for the outputs")
    catalog.add_argument("--format", choices=("fits", "csv"), default="fits",
                         help="catalogue format (default: fits)")
    catalog.add_argument("--bands", default=None,
                         help="bands to use, in order, e.g. gri (default: every band found)")
    catalog.add_argument("--class-prior", type=_prior_or_auto, default=None, metavar="P",
                         help="star fraction for the label-free line, or 'auto' to estimate it "
                              "from the field (default: auto)")
    catalog.add_argument("--model", type=Path, metavar="PATH",
                         help="classify with this saved classifier of stamps (a file written by "
                              "galaxy_learn.persistence.save) instead of the label-free line")
    catalog.add_argument("--n-jobs", type=_positive_int, default=None, metavar="N",
                         help="fields in parallel (joblib; default: one at a time)")
    catalog.add_argument("--on-error", choices=("skip", "raise"), default="skip",
                         help="a field that fails: 'skip' it (listed on stderr, exit code 3) "
                              "or 'raise' (default: skip)")
    _add_common(catalog, model=False)
    return parser


def _prior_or_auto(text):
    return "auto" if text == "auto" else _fraction(text)


def _say(args, text):
    if not getattr(args, "quiet", False):
        print(text, file=sys.stderr)


def _verbose(args):
    return 0 if args.quiet else 1


def _check_model_path(args):
    """Before any work: an existing --model must be a file, a new one needs its folder."""
    if args.model is None:
        return
    if args.model.is_dir():
        msg = f"--model {str(args.model)!r} is a directory; give a model file name."
        raise CLIError(msg)
    if not args.model.exists() or args.refit:
        parent = args.model.parent if str(args.model.parent) else Path(".")
        if not parent.is_dir():
            msg = (
                f"--model {str(args.model)!r}: the folder {str(parent)!r} does not exist; "
                "create it first."
            )
            raise CLIError(msg)


def _load_model(args, method):
    """The model saved at ``--model``, checked to be a fitted estimator with ``method``."""
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    from . import persistence

    path = args.model
    try:
        persistence.read_metadata(path)  # only our own format: never a bare pickle here
    except ValueError as exc:
        msg = f"--model {str(path)!r} is not a galaxy_learn model: {exc}"
        raise CLIError(msg) from exc
    try:
        model = persistence.load(path, allow_pickle=True, device=args.device)
    except (ValueError, OSError) as exc:
        raise CLIError(f"--model {str(path)!r}: {exc}") from exc
    except Exception as exc:  # noqa: BLE001 - unpickling can raise anything
        msg = f"--model {str(path)!r} could not be loaded: {type(exc).__name__}: {exc}"
        raise CLIError(msg) from exc
    if not callable(getattr(model, method, None)):
        msg = (
            f"--model {str(path)!r} holds a {type(model).__name__}, not a fitted estimator with "
            f"{method}(), which '{args.command}' needs: give a model saved by "
            f"'galaxy-learn {args.command}', or --refit to overwrite it."
        )
        raise CLIError(msg)
    try:
        check_is_fitted(model)
    except (NotFittedError, TypeError) as exc:
        msg = f"--model {str(path)!r} holds an estimator that is not fitted ({exc})."
        raise CLIError(msg) from exc
    return model


def _fit_or_load(args, make_estimator, X, *, method, **fit_params):
    """Reuse ``--model`` when it exists (unless ``--refit``), else fit and save it there."""
    from . import persistence

    if args.model is not None and args.model.exists() and not args.refit:
        _say(args, f"Loading the model from {args.model}")
        return _load_model(args, method), False
    estimator = make_estimator()
    _say(args, f"Fitting {type(estimator).__name__} on {len(X)} image(s)")
    estimator.fit(X, **fit_params)
    if args.model is not None:
        persistence.save(estimator, args.model)
        _say(args, f"Model saved to {args.model}")
    return estimator, True


def _cmd_demo(args):
    from .demo import run_demo

    _check_model_path(args)
    report = run_demo(
        n_samples=args.n_samples,
        prior=args.prior,
        class_prior=args.class_prior,
        quick=args.quick,
        max_epochs=args.max_epochs,
        out_dir=args.out,
        figures=not args.no_figures,
        device=args.device,
        random_state=args.random_state,
        verbose=_verbose(args),
        model_path=args.model,
        psf=args.psf,
    )
    print(report.summary())
    return EXIT_OK


def _psf_params(args, index, bands, rows=slice(None)):
    """``{"psf_fwhm": (n, bands) array}`` from the FITS headers with ``--psf``, else ``{}``."""
    import numpy as np

    if not args.psf:
        return {}
    cols = [f"psf_fwhm_{b}" for b in bands]
    missing = [c for c in cols if c not in index.columns]
    fwhm = None if missing else index[cols].to_numpy(dtype=float)
    if fwhm is None or not np.isfinite(fwhm).all():
        n_bad = len(index) if fwhm is None else int((~np.isfinite(fwhm)).any(axis=1).sum())
        msg = (
            f"--psf needs the PSF width of every cutout in every band; {n_bad} of {len(index)} "
            "cutout(s) have none in their FITS headers (keywords PSF_FWHM, PSFFWHM, PSFSIZE, "
            "SEEING, FWHM)."
        )
        raise CLIError(msg)
    return {"psf_fwhm": fwhm[rows]}


def _read_batch(args):
    from . import _io

    batch = _io.read_cutout_batch(args.inputs, allow_pickle=args.allow_pickle, bands=args.bands,
                                  fill_nan=args.fill_nan, on_error=args.on_error)
    if batch.failed:
        n_files = len(batch.failed) + len(batch.units)
        lines = [f"galaxy-learn {args.command}: skipped {len(batch.failed)} of {n_files} "
                 "input file(s) that could not be read:"]
        lines += [f"  {name}: {reason}" for name, reason in batch.failed]
        print("\n".join(lines), file=sys.stderr, flush=True)
    if not batch.units:
        msg = f"none of the {len(batch.failed)} input file(s) could be read (listed above)."
        raise CLIError(msg)
    return batch


def _done(args, batch):
    if batch.failed:
        print(f"galaxy-learn {args.command}: partial result: {len(batch.failed)} input file(s) "
              "skipped (listed above); exit code 3", file=sys.stderr)
        return EXIT_PARTIAL
    return EXIT_OK


def _cmd_classify(args):
    import sklearn

    from . import _io
    from .demo import make_unsupervised_pipeline

    _io.check_output_path(args.output, _CSV, what="-o/--output")
    _check_model_path(args)
    batch = _read_batch(args)
    X, index = batch.X, batch.index
    params = _psf_params(args, index, batch.bands)
    psf_bands = batch.bands if args.psf else ()
    columns = list(_io.TABLE_COLUMNS) + [f"psf_fwhm_{b}" for b in psf_bands]
    # metadata routing carries psf_fwhm to the encoder (on for this command only)
    with sklearn.config_context(enable_metadata_routing=args.psf):
        model, _ = _fit_or_load(args, lambda: make_unsupervised_pipeline(
            prior=args.prior, class_prior=args.class_prior, max_epochs=args.max_epochs,
            batch_size=args.batch_size, device=args.device, random_state=args.random_state,
            verbose=_verbose(args), psf=args.psf), X, method="predict", **params)
        with _io.TableWriter(args.output, columns) as out:
            for start, stop in batch.chunks():
                rows = slice(start, stop)
                out.write(_io.classification_table(
                    model, X[rows], index.iloc[rows], psf_bands=psf_bands,
                    **_psf_params(args, index, batch.bands, rows)))
    _say(args, f"Wrote {out.n_rows} row(s) to {args.output}")
    return _done(args, batch)


def _cmd_segment(args):
    from . import _io
    from .demo import make_segmenter

    _io.check_output_path(args.output, _FITS, what="-o/--output")
    _check_model_path(args)
    field = _io.read_field(args.field, bands=args.bands, fill_nan=args.fill_nan)
    model, _ = _fit_or_load(args, lambda: make_segmenter(
        max_epochs=args.max_epochs, batch_size=args.batch_size, device=args.device,
        random_state=args.random_state, verbose=_verbose(args)), field[None], method="label")
    segmap = model.label(field[None])[0]
    _io.write_fits(segmap, args.output, header={"COMMENT": "galaxy_learn object map"})
    _say(args, f"Wrote the object map ({int(segmap.max())} object(s)) to {args.output}")
    return EXIT_OK


def _cmd_denoise(args):
    import numpy as np

    from . import _io
    from .demo import make_denoiser

    _io.check_output_path(args.output, _IMAGES, what="-o/--output")
    _check_model_path(args)
    batch = _read_batch(args)
    X = batch.X
    model, _ = _fit_or_load(args, lambda: make_denoiser(
        max_epochs=args.max_epochs, batch_size=args.batch_size, device=args.device,
        random_state=args.random_state, verbose=_verbose(args)), X, method="denoise")
    if args.output.name.lower().endswith(".npy"):  # filled file by file as produced
        out = np.lib.format.open_memmap(args.output, mode="w+", dtype=np.float32, shape=X.shape)
        for start, stop in batch.chunks():
            out[start:stop] = model.denoise(X[start:stop])
            out.flush()
        del out
    else:
        _io.write_images(model.denoise(X), args.output)
    _say(args, f"Wrote {len(X)} denoised image(s) to {args.output}")
    return _done(args, batch)


def _cmd_catalog(args):
    from .field_catalog import catalog_fields

    if not args.output_dir.is_dir():
        raise CLIError(f"-o/--output-dir {str(args.output_dir)!r} is not an existing folder.")
    kwargs = {"bands": args.bands, "random_state": args.random_state}
    if args.class_prior is not None:
        kwargs["class_prior"] = args.class_prior
    if args.model is not None:
        if not args.model.is_file():
            raise CLIError(f"--model {str(args.model)!r} is not a file.")
        kwargs["model"] = _load_model(args, "predict")
    summary = catalog_fields(args.fields, args.output_dir, fmt=args.format,
                             on_error=args.on_error, n_jobs=args.n_jobs,
                             verbose=_verbose(args), **kwargs)
    for name, n in summary["done"].items():
        _say(args, f"{name}: {n} object(s) catalogued")
    if summary["failed"]:
        print(f"galaxy-learn catalog: {len(summary['failed'])} field(s) skipped:",
              file=sys.stderr)
        for name, err in summary["failed"].items():
            print(f"  {name}: {err}", file=sys.stderr)
        return EXIT_PARTIAL if summary["done"] else EXIT_ERROR
    return EXIT_OK


_COMMANDS = {"demo": _cmd_demo, "classify": _cmd_classify, "segment": _cmd_segment,
             "denoise": _cmd_denoise, "catalog": _cmd_catalog}


def main(argv=None):
    """Run ``galaxy-learn`` with ``argv`` (default: ``sys.argv[1:]``); return the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version (0) or a usage error (2)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    try:
        return _COMMANDS[args.command](args)
    except KeyboardInterrupt:
        print("galaxy-learn: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (CLIError, ValueError, OSError, ImportError, ArithmeticError) as exc:
        # Data, file, model and dependency problems: one clear line, no traceback.
        print(f"galaxy-learn {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
