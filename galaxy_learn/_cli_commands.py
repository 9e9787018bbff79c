"""The subcommands of ``galaxy-learn``: read the inputs, fit or reuse a model, write the outputs.

Each command calls library functions (``galaxy_learn.demo``, ``galaxy_learn._io``, the
estimators, ``galaxy_learn.persistence``, ``galaxy_learn.field_catalog``) and returns an exit
code; errors the user can fix are raised as :class:`CLIError` (one line on stderr, exit code 1).
"""
import sys
from pathlib import Path

__all__ = [
    "COMMANDS",
    "CLIError",
    "EXIT_ERROR",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_PARTIAL",
    "EXIT_USAGE",
]

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_PARTIAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130

_CSV = (".csv",)
_IMAGES = (".npy", ".fits", ".fit", ".fts", ".fits.gz", ".fit.gz")
_FITS = _IMAGES[1:]


class CLIError(Exception):
    """An error the user can fix; reported as one line on stderr with exit code 1."""


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
        if args.classifier != "auto":
            raise CLIError(f"--model and --classifier {args.classifier} exclude each other.")
        if not args.model.is_file():
            raise CLIError(f"--model {str(args.model)!r} is not a file.")
        kwargs["model"] = _load_model(args, "predict")
    else:
        kwargs["model"] = {"line": None}.get(args.classifier, args.classifier)
        kwargs["simulation_params"] = {"classifier": args.simulation_model}
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


#: The function of each subcommand: ``COMMANDS[args.command](args)`` returns the exit code.
COMMANDS = {"demo": _cmd_demo, "classify": _cmd_classify, "segment": _cmd_segment,
            "denoise": _cmd_denoise, "catalog": _cmd_catalog}
