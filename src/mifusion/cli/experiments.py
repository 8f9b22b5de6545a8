"""Subcommands of `mifusion` (module: experiments)."""

from __future__ import annotations

from typing import Any


def register(sub: Any) -> None:
    """Registers this module's subcommands (none yet)."""
