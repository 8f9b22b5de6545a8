"""Small helpers shared by the subcommand modules."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def add_command(sub: Any, name: str, help: str, examples: str, handler: Any) -> argparse.ArgumentParser:
    """Adds a subcommand whose --help ends with usage examples."""
    parser: argparse.ArgumentParser = sub.add_parser(
        name,
        help=help,
        description=help,
        epilog="examples:\n" + examples,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(handler=handler)
    return parser


def print_json(data: Any) -> None:
    """Prints ``data`` as indented JSON on stdout."""
    json.dump(data, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


def dataset_writer(dst: str, to: str | None) -> str:
    """The writer ``dst`` gets: ``to`` when given, else "mmsa" for a .pkl path and "safe" otherwise."""
    if to is not None:
        return to
    return "mmsa" if Path(dst).suffix.lower() in (".pkl", ".pickle") else "safe"


def save_dataset(dataset: Any, dst: str, to: str | None) -> str:
    """Writes ``dataset`` to ``dst`` with :func:`dataset_writer`'s choice; returns that choice."""
    from mifusion.data.io import save_mmsa_pickle, save_safe

    kind = dataset_writer(dst, to)
    (save_mmsa_pickle if kind == "mmsa" else save_safe)(dataset, dst)
    return kind


def positive_int(text: str) -> int:
    """argparse type: an integer of at least 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive integer")
    return value


def check_destination(dst: str, to: str | None) -> None:
    """Refuses a destination the writer would refuse, before any expensive work (DataError)."""
    from mifusion.data.safe_format import MANIFEST
    from mifusion.errors import DataError
    from mifusion.experiments.run_guard import check_creatable

    path = Path(dst)
    check_creatable(path, "the dataset", "destination")
    if dataset_writer(dst, to) == "safe" and path.exists() and not (path / MANIFEST).is_file():
        raise DataError(f"{dst}: exists and is not a mifusion safe-format directory; choose a new path")
    if dataset_writer(dst, to) == "mmsa" and path.is_dir():
        raise DataError(f"{dst}: is a directory; give a .pkl file path for the MMSA pickle")


def require_positive(args: argparse.Namespace, *names: str) -> None:
    """Raises ConfigError naming the first of ``names`` (argparse destinations) that is below 1."""
    from mifusion.errors import ConfigError

    for name in names:
        if getattr(args, name) < 1:
            raise ConfigError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(args, name)}")
