"""The ``galaxy-learn`` command line: parse arguments, build an estimator, fit/predict, write.

No science lives here: each subcommand calls library functions (``galaxy_learn.demo``,
``galaxy_learn._io``, the estimators, ``galaxy_learn.persistence``).

Exit codes: 0 success, 1 an error in the data, files or model (the message goes to stderr),
2 a usage error (argparse), 130 interrupted.
"""
import argparse
import sys
from pathlib import Path

from ._version import __version__

__all__ = ["main"]

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

PRIORS = ("dkl", "normal", "dkl_seed", "scaling", "aw", "pw", "none")


class CLIError(Exception):
    """An error the user can fix; reported as one line on stderr with exit code 1."""


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
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars or messages")
    if model:
        parser.add_argument(
            "--model", type=Path, metavar="PATH",
            help="a fitted model: reused when the file exists, else fitted and saved there. A model "
                 "file holds a Python pickle: only reuse files you trust.")
        parser.add_argument("--refit", action="store_true",
                            help="fit even when --model exists, and overwrite it")


def _add_training(parser, *, max_epochs):
    parser.add_argument("--max-epochs", type=_positive_int, default=max_epochs, metavar="N",
                        help=f"training epochs (default: {max_epochs})")
    parser.add_argument("--batch-size", type=_positive_int, default=128, metavar="N",
                        help="mini-batch size (default: 128)")


def _add_inputs(parser):
    parser.add_argument("inputs", nargs="+", type=Path, metavar="INPUT",
                        help="cutout files (.npy, .fits) or directories of them")
    parser.add_argument("--allow-pickle", action="store_true",
                        help="allow .npy files holding object arrays (the SDSS structured format); "
                             "unpickling can run code from the file: only for files you trust")
    parser.add_argument("--bands", default="ugriz",
                        help="band names of FITS inputs, in order (default: ugriz)")


def build_parser():
    """The argument parser of ``galaxy-learn`` (exposed for the docs and the tests)."""
    parser = argparse.ArgumentParser(
        prog="galaxy-learn",
        description="Unsupervised star/galaxy separation, segmentation and denoising of "
                    "astronomical cutouts (scikit-learn estimators on PyTorch).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    demo = sub.add_parser(
        "demo", help="simulate a survey sample, fit the unsupervised pipeline, report and plot",
        description="Simulate star/galaxy cutouts, fit Pipeline([VAEEncoder(prior), Isomap(), "
                    "ThresholdClassifier()]) without labels, print AUC and accuracy per magnitude "
                    "bin beside the concentration index, and write figures.")
    demo.add_argument("-o", "--out", type=Path, default=Path("galaxy_learn_demo"),
                      help="folder for the figures and tables (default: galaxy_learn_demo)")
    demo.add_argument("--n-samples", type=_positive_int, default=None, metavar="N",
                      help="simulated cutouts (default: 3000, or 300 with --quick)")
    demo.add_argument("--prior", choices=PRIORS, default="dkl", help="latent prior (default: dkl)")
    demo.add_argument("--class-prior", type=_fraction, default=None, metavar="P",
                      help="fraction of point sources assumed by the threshold (default: the "
                           "classifier's default)")
    demo.add_argument("--quick", action="store_true",
                      help="tiny settings (seconds; for tests and smoke runs)")
    demo.add_argument("--max-epochs", type=_positive_int, default=None, metavar="N",
                      help="VAE training epochs (default: the demo's setting)")
    demo.add_argument("--no-figures", action="store_true", help="skip the figures")
    demo.add_argument("--psf", action="store_true",
                      help="PSF-aware run: give the encoder each cutout's PSF FWHM (psf_fwhm) and "
                           "measure the concentration index on the same PSF-matched cutouts")
    _add_common(demo)

    classify = sub.add_parser(
        "classify", help="label cutouts star / galaxy without labels",
        description="Fit (or reuse with --model) Pipeline([VAEEncoder(prior), Isomap(), "
                    "ThresholdClassifier(class_prior)]) on the cutouts and write one CSV row per "
                    "cutout: file, index, label, score.")
    _add_inputs(classify)
    classify.add_argument("-o", "--output", type=Path, required=True, metavar="CSV",
                          help="output CSV file")
    classify.add_argument("--prior", choices=PRIORS, default="dkl", help="latent prior (default: dkl)")
    classify.add_argument("--class-prior", type=_fraction, default=0.4, metavar="P",
                          help="fraction of point sources (stars, quasars) among the inputs "
                               "(default: 0.4)")
    classify.add_argument("--psf", action="store_true",
                          help="PSF-aware: resample every cutout to one PSF width, read per band "
                               "from the FITS headers (PSF_FWHM, PSFFWHM, PSFSIZE, SEEING or FWHM)")
    _add_training(classify, max_epochs=30)
    _add_common(classify)

    segment = sub.add_parser(
        "segment", help="segment a multi-band field into objects",
        description="Fit (or reuse with --model) the unsupervised hypercolumn segmenter on a field "
                    "and write its object map as FITS.")
    segment.add_argument("field", type=Path, metavar="FIELD.fits",
                         help="a FITS image (bands, height, width) or (height, width)")
    segment.add_argument("--bands", default="ugriz",
                         help="band names of the field's planes, in order (default: ugriz)")
    segment.add_argument("-o", "--output", type=Path, required=True, metavar="MASK.fits",
                         help="output FITS object map (0 = background, k = object k)")
    _add_training(segment, max_epochs=10)
    _add_common(segment)

    denoise = sub.add_parser(
        "denoise", help="denoise cutouts with the contrastive U-Net denoiser",
        description="Fit (or reuse with --model) ContrastiveDenoiser on the cutouts and write the "
                    "denoised images (.npy or .fits, by the output's extension).")
    _add_inputs(denoise)
    denoise.add_argument("-o", "--output", type=Path, required=True, metavar="OUT",
                         help="output file: .npy or .fits")
    _add_training(denoise, max_epochs=20)
    _add_common(denoise)
    return parser


def _say(args, text):
    if not getattr(args, "quiet", False):
        print(text, file=sys.stderr)


def _fit_or_load(args, make_estimator, X, **fit_params):
    """Reuse ``--model`` when it exists (unless ``--refit``), else fit and save it there."""
    from . import persistence

    if args.model is not None and args.model.exists() and not args.refit:
        _say(args, f"Loading the model from {args.model}")
        return persistence.load(args.model, allow_pickle=True, device=args.device), False
    estimator = make_estimator()
    _say(args, f"Fitting {type(estimator).__name__} on {len(X)} image(s)")
    estimator.fit(X, **fit_params)
    if args.model is not None:
        persistence.save(estimator, args.model)
        _say(args, f"Model saved to {args.model}")
    return estimator, True


def _cmd_demo(args):
    from .demo import run_demo

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
        verbose=0 if args.quiet else 1,
        model_path=args.model,
        psf=args.psf,
    )
    print(report.summary())
    return EXIT_OK


def _psf_params(args, index):
    """``{"psf_fwhm": (n, bands) array}`` from the FITS headers with ``--psf``, else ``{}``."""
    import numpy as np

    if not args.psf:
        return {}
    cols = [f"psf_fwhm_{b}" for b in args.bands]
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
    return {"psf_fwhm": fwhm}


def _cmd_classify(args):
    import sklearn

    from . import _io

    X, index = _io.read_cutouts(args.inputs, allow_pickle=args.allow_pickle, bands=args.bands)
    params = _psf_params(args, index)
    from .demo import make_unsupervised_pipeline

    # metadata routing carries psf_fwhm to the encoder (on for this command only)
    with sklearn.config_context(enable_metadata_routing=args.psf):
        model, _ = _fit_or_load(args, lambda: make_unsupervised_pipeline(
            prior=args.prior, class_prior=args.class_prior, max_epochs=args.max_epochs,
            batch_size=args.batch_size, device=args.device, random_state=args.random_state,
            verbose=0 if args.quiet else 1, psf=args.psf), X, **params)
        table = _io.classification_table(model, X, index, **params)
    _io.write_table(table, args.output)
    _say(args, f"Wrote {len(table)} row(s) to {args.output}")
    return EXIT_OK


def _cmd_segment(args):
    from . import _io

    field = _io.read_field(args.field, bands=args.bands)
    from .demo import make_segmenter

    model, _ = _fit_or_load(args, lambda: make_segmenter(
        max_epochs=args.max_epochs, batch_size=args.batch_size, device=args.device,
        random_state=args.random_state, verbose=0 if args.quiet else 1), field[None])
    segmap = model.label(field[None])[0]
    _io.write_fits(segmap, args.output, header={"COMMENT": "galaxy_learn object map"})
    _say(args, f"Wrote the object map ({int(segmap.max())} object(s)) to {args.output}")
    return EXIT_OK


def _cmd_denoise(args):
    from . import _io

    X, _ = _io.read_cutouts(args.inputs, allow_pickle=args.allow_pickle, bands=args.bands)
    from .demo import make_denoiser

    model, _ = _fit_or_load(args, lambda: make_denoiser(
        max_epochs=args.max_epochs, batch_size=args.batch_size, device=args.device,
        random_state=args.random_state, verbose=0 if args.quiet else 1), X)
    _io.write_images(model.denoise(X), args.output)
    _say(args, f"Wrote {len(X)} denoised image(s) to {args.output}")
    return EXIT_OK


_COMMANDS = {"demo": _cmd_demo, "classify": _cmd_classify, "segment": _cmd_segment,
             "denoise": _cmd_denoise}


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
