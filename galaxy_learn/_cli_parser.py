"""The argument parser of ``galaxy-learn``: its subcommands, their options and the option types.

Options left out default to None, which means the estimator's own default; the help text reads
that default from the estimator itself, so help and behaviour cannot drift apart.
"""
import argparse
from pathlib import Path

from ._version import __version__

__all__ = ["build_parser"]

_EXIT_CODES = (
    "exit codes: 0 success, 1 error (one line on stderr), 2 usage error, 3 partial: some input "
    "files could not be read and were skipped (count and list on stderr; the output holds "
    "every other file), 130 interrupted"
)

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


def _add_common(parser, *, model=True, training=None):
    """Options every subcommand takes; ``training``: the estimator whose epochs and batch size
    the subcommand sets (``--max-epochs``, ``--batch-size``)."""
    if training is not None:
        _add_training(parser, training)
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


def _add_priors(parser, class_prior_help):
    """``--prior`` (the encoder's latent prior) and ``--class-prior`` (the threshold's)."""
    parser.add_argument("--prior", choices=_priors(), default=None,
                        help=f"latent prior (default: {_default('VAEEncoder', 'prior')})")
    parser.add_argument("--class-prior", type=_fraction, default=None, metavar="P",
                        help=f"{class_prior_help} "
                             f"(default: {_default('ThresholdClassifier', 'class_prior')})")


def _add_command(sub, name, *, help, description):
    """A subcommand's parser, its epilog the exit codes."""
    return sub.add_parser(name, help=help, description=description, epilog=_EXIT_CODES)


def _add_output(parser, metavar, help):
    """The required ``-o/--output`` file of a subcommand."""
    parser.add_argument("-o", "--output", type=Path, required=True, metavar=metavar, help=help)


def _prior_or_auto(text):
    return "auto" if text == "auto" else _fraction(text)


def _add_demo(sub):
    """``galaxy-learn demo``: simulate, fit the unsupervised pipeline, report, plot."""
    parser = _add_command(
        sub, "demo",
        help="simulate a survey sample, fit the unsupervised pipeline, report and plot",
        description="Simulate star/galaxy cutouts, fit Pipeline([VAEEncoder(prior), Isomap(), "
                    "ThresholdClassifier()]) without labels, print AUC and accuracy per magnitude "
                    "bin beside the concentration index, and write results.csv and figures.")
    parser.add_argument("-o", "--out", type=Path, default=Path("galaxy_learn_demo"),
                        help="folder for the figures and tables (default: galaxy_learn_demo)")
    parser.add_argument("--n-samples", type=_positive_int, default=None, metavar="N",
                        help="simulated cutouts (default: 3000, or 300 with --quick)")
    _add_priors(parser, "fraction of point sources assumed by the threshold")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run in seconds, for tests: 300 cutouts, a smaller network, 1 "
                             "epoch (explicit small settings, not the estimators' defaults)")
    parser.add_argument("--max-epochs", type=_positive_int, default=None, metavar="N",
                        help="VAE training epochs (default: VAEEncoder's default, or 1 with "
                             "--quick)")
    parser.add_argument("--no-figures", action="store_true", help="skip the figures")
    parser.add_argument("--psf", action="store_true",
                        help="PSF-aware run: give the encoder each cutout's PSF FWHM (psf_fwhm) "
                             "and measure the concentration index on the same PSF-matched "
                             "cutouts")
    _add_common(parser)


def _add_classify(sub):
    """``galaxy-learn classify INPUT... -o CSV``: label cutouts without labels."""
    parser = _add_command(
        sub, "classify", help="label cutouts star / galaxy without labels",
        description="Fit (or reuse with --model) Pipeline([VAEEncoder(prior), Isomap(), "
                    "ThresholdClassifier(class_prior)]) on the cutouts and write one CSV row per "
                    "cutout, with the columns file, index, id, label, score (file: the input "
                    "file; index: the cutout's position in it, 0 for a one-object FITS file; "
                    "id: the FITS object id or the SDSS objID, empty for plain arrays; label: "
                    "POINT or GALAXY; score: the decision function), then psf_fwhm_<band> with "
                    "--psf. Rows are written file by file as they are produced.")
    _add_inputs(parser)
    _add_output(parser, "CSV", "output CSV file (.csv; its folder must exist)")
    _add_priors(parser, "fraction of point sources (stars, quasars) among the inputs")
    parser.add_argument("--psf", action="store_true",
                        help="PSF-aware: resample every cutout to one PSF width, read per band "
                             "from the FITS headers (PSF_FWHM, PSFFWHM, PSFSIZE, SEEING or FWHM)")
    _add_common(parser, training="VAEEncoder")


def _add_segment(sub):
    """``galaxy-learn segment FIELD.fits -o MASK.fits``: a field's object map."""
    parser = _add_command(
        sub, "segment", help="segment a multi-band field into objects",
        description="Fit (or reuse with --model) the unsupervised hypercolumn segmenter on a field "
                    "and write its object map as FITS.")
    parser.add_argument("field", type=Path, metavar="FIELD.fits",
                        help="a FITS image (bands, height, width), or (height, width): one band")
    _add_bands(parser, "field's planes")
    parser.add_argument("--fill-nan", action="store_true",
                        help="replace NaN/inf pixels by the median of their band (default: "
                             "such pixels are an error)")
    _add_output(parser, "MASK.fits",
                "output FITS object map (0 = background, k = object k; its folder must exist)")
    _add_common(parser, training="HypercolumnExtractor")


def _add_denoise(sub):
    """``galaxy-learn denoise INPUT... -o OUT``: denoise cutouts."""
    parser = _add_command(
        sub, "denoise", help="denoise cutouts with the contrastive U-Net denoiser",
        description="Fit (or reuse with --model) ContrastiveDenoiser on the cutouts and write the "
                    "denoised images (.npy or .fits, by the output's extension), in input order "
                    "without the skipped files. A .npy output is filled file by file as it is "
                    "produced.")
    _add_inputs(parser)
    _add_output(parser, "OUT", "output file: .npy or .fits (its folder must exist)")
    _add_common(parser, training="ContrastiveDenoiser")


def _add_catalog(sub):
    """``galaxy-learn catalog FIELD... -o OUT``: catalogue survey fields."""
    parser = _add_command(
        sub, "catalog", help="detect, measure and classify the objects of survey fields",
        description="For each field (one calibrated FITS frame per band with its WCS, in one "
                    "directory, e.g. the five SDSS frame-[ugriz]-*.fits.bz2 files): align the "
                    "bands through their WCS, detect objects on the reference band (background "
                    "and noise measured), measure aperture fluxes and AB magnitudes "
                    "per band with edge/masked/saturated flags, classify star/galaxy with the "
                    "label-free line fitted on the field (or --model), and write "
                    "OUT/<field>_catalog.fits|csv, <field>_classmap.fits (0 background, 1 galaxy, "
                    "2 star; the reference band's WCS) and <field>_quicklook.png.")
    parser.add_argument("fields", nargs="+", type=Path, metavar="FIELD",
                        help="a field's directory of frames; several fields: several "
                             "directories (a field that fails is skipped and listed)")
    parser.add_argument("-o", "--output-dir", type=Path, required=True, metavar="OUT",
                        help="existing folder for the outputs")
    parser.add_argument("--format", choices=("fits", "csv"), default="fits",
                        help="catalogue format (default: fits)")
    parser.add_argument("--bands", default=None,
                        help="bands to use, in order, e.g. gri (default: every band found)")
    parser.add_argument("--class-prior", type=_prior_or_auto, default=None, metavar="P",
                        help="star fraction for the label-free classifier, or 'auto' to "
                             "estimate it from the field (default: auto)")
    parser.add_argument("--model", type=Path, metavar="PATH",
                        help="classify with this saved classifier of stamps (a file written by "
                             "galaxy_learn.persistence.save) instead of a label-free one")
    parser.add_argument("--classifier", choices=("auto", "line", "simulation"), default="auto",
                        help="without --model: 'simulation', a classifier trained on "
                             "simulations matched to the field's PSF and noise "
                             "(MatchedSimulationClassifier; no labels; SDSS-like frames), "
                             "'line', the label-free mission line fitted on the field, or "
                             "'auto', the simulation where the field is SDSS-like and the line "
                             "elsewhere (default: auto)")
    parser.add_argument("--simulation-model", choices=("boosting", "cnn"), default="boosting",
                        help="for the simulation-trained classifier: 'boosting', gradient "
                             "boosting on each stamp's growth curves, colours and spread_model "
                             "(about a minute), or 'cnn', a CNN on the pixels (minutes) "
                             "(default: boosting)")
    parser.add_argument("--n-jobs", type=_positive_int, default=None, metavar="N",
                        help="fields in parallel (joblib; default: one at a time)")
    parser.add_argument("--on-error", choices=("skip", "raise"), default="skip",
                        help="a field that fails: 'skip' it (listed on stderr, exit code 3) "
                             "or 'raise' (default: skip)")
    _add_common(parser, model=False)


def build_parser():
    """The argument parser of ``galaxy-learn`` (exposed for the docs and the tests)."""
    parser = argparse.ArgumentParser(
        prog="galaxy-learn",
        description="Unsupervised star/galaxy separation, segmentation and denoising of "
                    "astronomical cutouts (scikit-learn estimators on PyTorch).",
        epilog=_EXIT_CODES,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    _add_demo(sub)
    _add_classify(sub)
    _add_segment(sub)
    _add_denoise(sub)
    _add_catalog(sub)
    return parser
