"""The ``galaxy-learn`` command line: parse arguments, build an estimator, fit/predict, write.

No science lives here: each subcommand calls library functions (``galaxy_learn.demo``,
``galaxy_learn._io``, the estimators, ``galaxy_learn.persistence``). Options left out mean the
estimator's own default (argparse defaults of None), so the command line and the library agree.
The parser is built in ``_cli_parser.py``, the subcommands run in ``_cli_commands.py``; this
module is the entry point (``galaxy-learn = galaxy_learn.cli:main``).

Exit codes: 0 success, 1 an error in the data, files or model (the message goes to stderr),
2 a usage error (argparse), 3 partial success (some input files could not be read and were
skipped; they are listed on stderr), 130 interrupted.
"""
import sys

# EXIT_*, CLIError and build_parser are imported from here too (tests, docs/conf.py).
from ._cli_commands import (  # noqa: F401
    COMMANDS,
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_USAGE,
    CLIError,
)
from ._cli_parser import build_parser

__all__ = ["main"]


def main(argv=None):
    """Run ``galaxy-learn`` with ``argv`` (default: ``sys.argv[1:]``); return the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version (0) or a usage error (2)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    try:
        return COMMANDS[args.command](args)
    except KeyboardInterrupt:
        print("galaxy-learn: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (CLIError, ValueError, OSError, ImportError, ArithmeticError) as exc:
        # Data, file, model and dependency problems: one clear line, no traceback.
        print(f"galaxy-learn {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
