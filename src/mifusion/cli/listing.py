"""Subcommands ``list`` (models, estimators, presets) and ``show-config``."""

from __future__ import annotations

import argparse
from typing import Any

from mifusion.cli.common import add_command


def _list(args: argparse.Namespace) -> int:
    from mifusion import presets

    what = args.what
    if what in ("models", "all"):
        from mifusion.models.base import MODELS

        _import_registrations("mifusion.models")
        print("models:")
        for name in MODELS.names():
            print(f"  {name:12s} {MODELS.get(name).summary}")
    if what in ("estimators", "all"):
        from mifusion.estimators.base import ESTIMATORS

        _import_registrations("mifusion.estimators")
        print("estimators:")
        for name in ESTIMATORS.names():
            entry = ESTIMATORS.get(name)
            print(f"  {name:16s} {entry.bound.value:8s} {entry.summary}")
    if what in ("presets", "all"):
        print("presets:")
        for name in presets.names():
            print(f"  {name:18s} {presets.summary(name)}")
    return 0


def _import_registrations(package: str) -> None:
    """Imports a package's registry population module (``build``) when present."""
    import importlib

    for module in (f"{package}.build", package):
        try:
            importlib.import_module(module)
        except ModuleNotFoundError:
            continue


def _show_config(args: argparse.Namespace) -> int:
    import yaml

    from mifusion.config import to_dict
    from mifusion.presets import resolve

    cfg = resolve(args.preset, args.config, args.set)
    print(yaml.safe_dump(to_dict(cfg), sort_keys=False), end="")
    return 0


def register(sub: Any) -> None:
    """Registers ``list`` and ``show-config``."""
    p = add_command(
        sub, "list", "List registered models, estimators or shipped presets.",
        "  mifusion list\n  mifusion list models\n  mifusion list presets", _list,
    )  # fmt: skip
    p.add_argument("what", nargs="?", default="all", choices=["all", "models", "estimators", "presets"])
    p = add_command(
        sub, "show-config", "Print the fully resolved config of a preset or file with overrides.",
        "  mifusion show-config\n  mifusion show-config --preset mosi_mmim --set train.epochs=5",
        _show_config,
    )  # fmt: skip
    p.add_argument("--preset")
    p.add_argument("--config")
    p.add_argument("--set", nargs="*", action="extend", default=[], metavar="KEY=VALUE")
