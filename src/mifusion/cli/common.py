"""Small helpers shared by the subcommand modules."""

from __future__ import annotations

import argparse
import json
import sys
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
