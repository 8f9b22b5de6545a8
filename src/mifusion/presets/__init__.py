"""YAML presets shipped with the package, and config resolution for the command line.

Example:
    >>> "default" in names() and "mosi_mmim" in names()
    True
    >>> resolve("mosi_text", None, ["train.epochs=2"]).train.epochs
    2
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from mifusion.config import ExperimentConfig, load
from mifusion.errors import ConfigError

PRESET_DIR = Path(__file__).parent


def names() -> tuple[str, ...]:
    """Names of the shipped presets."""
    return tuple(sorted(p.stem for p in PRESET_DIR.glob("*.yaml")))


def path(name: str) -> Path:
    """The YAML file of preset ``name``; ConfigError listing the choices when unknown."""
    file = PRESET_DIR / f"{name}.yaml"
    if not file.exists():
        raise ConfigError(f"unknown preset {name!r}; choose one of: {', '.join(names())}")
    return file


def summary(name: str) -> str:
    """The first comment line of a preset (its one-line description)."""
    for line in path(name).read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            return line.lstrip("# ").strip()
    return ""


def resolve(preset: str | None, config: str | None, overrides: Sequence[str] = ()) -> ExperimentConfig:
    """Preset (default ``default``) or a YAML file, then ``section.key=value`` overrides."""
    if preset and config:
        raise ConfigError("give either --preset or --config, not both")
    source = Path(config) if config else path(preset or "default")
    return load(source, overrides)
