"""A restricted unpickler: numpy arrays, dtypes, builtin containers, strings and numbers only.

A pickle can run arbitrary code when loaded (REFERENCE 4.2). :func:`safe_load` resolves every global the
pickle references against an allow-list *before* anything is called; a reference to anything else (a
function such as ``os.system``, a class) raises :class:`DataError` naming the file and the global.
"""

from __future__ import annotations

import importlib
import io
import pickle
from pathlib import Path
from typing import Any

from mifusion.errors import DataError

# (module, name) pairs a numpy-array pickle needs; numpy.core.* is numpy._core.* on numpy >= 2.
ALLOWED_GLOBALS: frozenset[tuple[str, str]] = frozenset(
    {
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy._core.numeric", "_frombuffer"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy.core.numeric", "_frombuffer"),
        ("numpy.dtypes", "StringDType"),
        ("collections", "OrderedDict"),
        ("builtins", "dict"),
        ("builtins", "list"),
        ("builtins", "tuple"),
        ("builtins", "set"),
        ("builtins", "frozenset"),
        ("builtins", "bytearray"),
        ("builtins", "complex"),
        ("_codecs", "encode"),
        ("codecs", "encode"),
    }
)
# numpy >= 1.25 pickles dtype classes as numpy.dtypes.Float32DType and the like.
ALLOWED_MODULE_PREFIXES: tuple[str, ...] = ("numpy.dtypes",)


class RestrictedUnpickler(pickle.Unpickler):
    """An Unpickler whose ``find_class`` admits only :data:`ALLOWED_GLOBALS`."""

    def __init__(self, file: Any, source: str) -> None:
        super().__init__(file)
        self.source = source

    def find_class(self, module: str, name: str) -> Any:
        allowed = (module, name) in ALLOWED_GLOBALS or (
            module in ALLOWED_MODULE_PREFIXES and name.endswith("DType")
        )
        if not allowed:
            raise DataError(
                f"{self.source}: refused to unpickle global '{module}.{name}': only numpy arrays, "
                "builtin containers, strings and numbers are allowed (the file may contain code; "
                "do not load it with plain pickle)"
            )
        if module.startswith("numpy.core"):
            module = "numpy._core" + module[len("numpy.core") :]
        return getattr(importlib.import_module(module), name)


def safe_loads(data: bytes, source: str = "<bytes>") -> Any:
    """Unpickles ``data`` with the restricted unpickler.

    Example:
        >>> import pickle, numpy as np
        >>> safe_loads(pickle.dumps({"x": np.arange(3)}))["x"].tolist()
        [0, 1, 2]
    """
    return _load(io.BytesIO(data), source)


def safe_load(path: str | Path) -> Any:
    """Loads the pickle at ``path`` with the restricted unpickler (never executes code)."""
    path = Path(path)
    if path.exists() and not path.is_file():  # stat only: opening a FIFO would block
        raise DataError(f"{path}: not a regular file (a folder, FIFO or device); give the path of a file")
    try:
        handle = open(path, "rb")  # noqa: SIM115 (closed below)
    except OSError as err:
        raise DataError(f"{path}: cannot read file ({err.strerror}); check the path") from None
    with handle:
        return _load(handle, str(path))


def _load(handle: Any, source: str) -> Any:
    try:
        return RestrictedUnpickler(handle, source).load()
    except DataError:
        raise
    except Exception as err:  # truncated / corrupt: pickle raises many types
        raise DataError(
            f"{source}: not a readable pickle ({type(err).__name__}: {err}); "
            "the file is truncated or corrupt, re-download or re-export it"
        ) from None
