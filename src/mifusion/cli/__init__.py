"""The ``mifusion`` command line: thin parsing that calls library functions.

Each subcommand lives in its own module under ``mifusion.cli`` and exposes ``register(subparsers)``.
User errors (:class:`mifusion.errors.MifusionError`) print one line and exit with code 2.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from mifusion import __version__
from mifusion.errors import MifusionError

COMMAND_MODULES: tuple[str, ...] = ("data", "metrics", "estimators", "experiments", "sweep", "listing")


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line (what, and where to read more), exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every subcommand registered."""
    import importlib

    parser = OneLineParser(
        prog="mifusion",
        description="Multimodal sentiment analysis with mutual-information objectives (MMIM, MDM).",
        epilog="Run 'mifusion COMMAND --help' for a command's options and examples.",
    )
    parser.add_argument("--version", action="version", version=f"mifusion {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"mifusion.cli.{name}").register(sub)
    return parser


def _one_line(text: str) -> str:
    return " ".join(text.split())


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(message)s" if not args.verbose else "%(levelname)s %(name)s: %(message)s",
    )
    if not getattr(args, "handler", None):
        parser.print_help()
        return 0
    try:
        return int(args.handler(args) or 0)
    except MifusionError as err:
        print(f"mifusion: error: {_one_line(str(err))}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `mifusion data inspect X --json | head`
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except OSError as err:  # disk full, permissions, names too long: the user's to fix
        from mifusion.files import os_error_message

        print(f"mifusion: error: {_one_line(os_error_message(err))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("mifusion: interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # one line for the user; the traceback on request
        if os.environ.get("MIFUSION_DEBUG"):
            raise
        print(
            f"mifusion: internal error: {type(err).__name__}: {_one_line(str(err))} "
            "(set MIFUSION_DEBUG=1 for the traceback and report it)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
