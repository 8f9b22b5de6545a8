"""Exceptions that the command line turns into one-line messages (exit code 2).

Every error raised for bad *input* (a file, a config value, an argument) is a :class:`MifusionError`
whose message names what was wrong, where, and what to do about it.
"""

from __future__ import annotations


class MifusionError(Exception):
    """Base class for user-facing errors: the message is shown as one line, without a traceback."""


class DataError(MifusionError):
    """A data file is missing, malformed, unsafe or inconsistent."""


class ConfigError(MifusionError):
    """A configuration file, preset or override is invalid."""


class ShapeError(MifusionError, ValueError):
    """Tensors passed to a public API have the wrong shape, keys or sizes."""


class TrainingError(MifusionError):
    """Training cannot continue (for example, repeated non-finite losses)."""


class StorageError(MifusionError):
    """A file cannot be read or written: disk full, no permission, name too long, not a regular file, or
    not enough memory for what it declares."""
