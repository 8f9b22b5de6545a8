"""Atomic file writers: every text, JSON, CSV and checkpoint file mifusion writes goes through here.

A writer writes a temp file in the target's folder, flushes and fsyncs it, gives it the mode ``open()``
would, then renames it over the target: readers see the old file or the new one, never a torn one.

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> folder = Path(tempfile.mkdtemp())
    >>> write_rows_csv(folder / "m.csv", [{"epoch": 1, "mae": 0.5}, {"epoch": 2, "mae": 0.4, "corr": 0.1}])
    >>> read_rows_csv(folder / "m.csv")[1]
    {'epoch': 2.0, 'mae': 0.4, 'corr': 0.1}
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from mifusion.files import default_mode, write_error


def atomic_write_bytes(path: Path, write: Any) -> None:
    """Calls ``write(file_object)`` on a temp file in ``path``'s folder, then renames it over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fchmod(handle.fileno(), default_mode())  # mkstemp's 0600 -> what open() would give
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as err:
        if os.path.exists(tmp):
            os.unlink(tmp)
        translated = write_error(err, path)
        if translated is not None:
            raise translated from None
        raise


def atomic_write_text(path: Path, text: str) -> None:
    """Writes ``text`` (UTF-8) to ``path`` atomically."""
    atomic_write_bytes(path, lambda handle: handle.write(text.encode("utf-8")))


def write_json(path: Path, data: Any) -> None:
    """Writes ``data`` as indented JSON atomically."""
    atomic_write_text(path, json.dumps(data, indent=2, default=str) + "\n")


def write_rows_csv(path: Path, rows: list[dict[str, float]]) -> None:
    """Writes rows (union of their keys as columns, in first-seen order) as CSV atomically."""
    columns: list[str] = []
    for row in rows:
        columns.extend(k for k in row if k not in columns)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, restval="")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(path, buffer.getvalue())


def read_rows_csv(path: Path) -> list[dict[str, float]]:
    """Reads a metrics CSV back (empty cells dropped)."""
    with path.open(encoding="utf-8") as handle:
        return [{k: float(v) for k, v in row.items() if v != ""} for row in csv.DictReader(handle)]
