"""Run-directory safety: nothing lost, one writer at a time, no stale temp files, safe resumes.

- :func:`check_output` (read-only) refuses an existing, non-empty run directory unless the caller resumes
  it or asks to overwrite it, and refuses locations that cannot be created (not writable, name too long,
  a file in the way), before any work starts.
- :func:`resume_changes` lists the settings that differ between a run's saved config and a resumed one and
  would break its checkpoint (only a few, such as ``train.epochs``, may change).
- :func:`claim` then takes the directory: an overwritten run is moved aside atomically to
  ``<out>.old-<UTC time>`` (never deleted), an advisory lock (``fcntl.flock`` on ``<out>/.lock``) keeps a
  second writer out, and temp files that killed writers left behind are removed.

Example:
    >>> from mifusion.config import load
    >>> resume_changes(load(None), load(None, ["train.epochs=80", "model.hidden_dim=64"]))
    ['model.hidden_dim (128 -> 64)']
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from mifusion.config import ExperimentConfig, to_dict
from mifusion.errors import ConfigError

log = logging.getLogger(__name__)

LOCK_NAME = ".lock"
NAME_MAX = 255
"""Longest file name in bytes on common file systems (ext4, xfs, btrfs, APFS, NTFS)."""
RESUMABLE = (
    "train.epochs",
    "train.early_stopping_patience",
    "train.device",
    "train.num_threads",
    "train.eval_batch_size",
    "train.max_nonfinite_steps",
    "train.seeds",
    "search_space",
)
"""Settings that may change when a run is resumed; any other change would break its checkpoint."""

# temp names of the atomic writers: mkstemp(prefix=".NAME.") -> ".NAME.XXXXXXXX", the plot writer's
# ".STEM.tmp.SUFFIX", and the safe-format writer's ".NAME.XXXXXXXX.tmp" / ".NAME.old" folders
TEMP_FILE = re.compile(r"^\..+\.([a-z0-9_]{8}|tmp\.[A-Za-z0-9]+)$")
TEMP_DIR = re.compile(r"^\..+\.([a-z0-9_]{8}\.tmp|old)$")


def _flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            out.update(_flatten(value, f"{name}."))
        else:
            out[name] = value
    return out


def resume_changes(saved: ExperimentConfig, requested: ExperimentConfig) -> list[str]:
    """``"option (old -> new)"`` for every changed setting outside :data:`RESUMABLE`."""
    old, new = _flatten(to_dict(saved)), _flatten(to_dict(requested))
    changed = []
    for key in dict.fromkeys([*old, *new]):
        if old.get(key) != new.get(key) and not any(key == r or key.startswith(f"{r}.") for r in RESUMABLE):
            changed.append(f"{key} ({old.get(key)!r} -> {new.get(key)!r})".replace("'", ""))
    return changed


def check_resume(run_dir: Path, saved: ExperimentConfig, requested: ExperimentConfig) -> None:
    """Raises ConfigError naming the settings that a resume of ``run_dir`` may not change."""
    changed = resume_changes(saved, requested)
    if changed:
        raise ConfigError(
            f"{run_dir}: cannot resume with changed settings {', '.join(changed)}: the checkpoint was trained "
            f"with the old ones; drop those changes, or start a new run with another --out "
            f"(may change on resume: {', '.join(RESUMABLE)})"
        )


def check_creatable(path: Path, what: str = "the run directory", flag: str = "--out") -> None:
    """Refuses a path that cannot be created: a name too long (ENAMETOOLONG), a file in the way, an
    ancestor without write access (EACCES). Read-only; nothing is created."""
    for part in path.absolute().parts:
        if len(os.fsencode(part)) + len(".old-00000000-000000-00") > NAME_MAX:
            raise ConfigError(
                f"{str(path)[:48]}...: the name {part[:24]}... is too long (ENAMETOOLONG; keep each name "
                f"under {NAME_MAX - 23} bytes); choose a shorter {flag}"
            )
    anchor = path.absolute()
    while not anchor.exists() and anchor != anchor.parent:
        anchor = anchor.parent
    if anchor != path.absolute() and not anchor.is_dir():
        raise ConfigError(f"{path}: cannot create {what}: {anchor} is not a directory; choose another {flag}")
    if anchor != path.absolute() and not os.access(anchor, os.W_OK | os.X_OK):
        raise ConfigError(
            f"{path}: cannot create {what}: {anchor} is not writable (EACCES); choose another {flag}"
        )


def check_output(path: Path, *, resume: bool = False, overwrite: bool = False) -> None:
    """Read-only check of a run's destination before any work (ConfigError when it cannot be used)."""
    path = Path(path)
    check_creatable(path)
    if resume and overwrite:
        raise ConfigError("--resume and --overwrite exclude each other; choose one")
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{path}: exists and is not a directory; choose another --out")
    if (resume or overwrite) and (path / LOCK_NAME).is_file():
        _release(_lock(path, create=False))  # refuse now, before any work, when another writer holds it
    if resume:
        if not (path / "config.yaml").is_file():
            raise ConfigError(f"{path}: nothing to resume (no config.yaml); check the run directory")
        if not os.access(path, os.W_OK | os.X_OK):
            raise ConfigError(f"{path}: the run directory is not writable (EACCES); fix its permissions")
        return
    if overwrite and path.is_dir() and not os.access(path.absolute().parent, os.W_OK | os.X_OK):
        raise ConfigError(f"{path}: cannot move it aside: {path.absolute().parent} is not writable (EACCES)")
    if path.is_dir() and any(path.iterdir()) and not overwrite:
        raise ConfigError(
            f"{path}: already exists and is not empty; use --resume {path} to continue it, --overwrite to "
            "move it aside (to <out>.old-<time>), or another --out"
        )


def stale_temp_files(root: Path) -> list[Path]:
    """Temp files and folders of killed atomic writers anywhere under ``root`` (sorted)."""
    found: list[Path] = []
    for folder, dirs, files in os.walk(root):
        base = Path(folder)
        found += [base / n for n in files if n != LOCK_NAME and TEMP_FILE.match(n)]
        stale = [n for n in dirs if TEMP_DIR.match(n)]
        found += [base / n for n in stale]
        dirs[:] = [n for n in dirs if n not in stale]
    return sorted(found)


def remove_paths(paths: list[Path]) -> None:
    """Deletes files and folder trees (missing ones are skipped)."""
    for path in paths:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def _release(fd: int) -> None:
    os.close(fd)


def _lock(path: Path, create: bool = True) -> int:
    """An exclusive, non-blocking flock on ``path/.lock``; ConfigError naming the holder when taken.

    With ``create=False`` the lock file must exist and is left as it is (a probe that writes nothing).
    """
    lock_path = path / LOCK_NAME
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT if create else os.O_RDONLY, 0o644)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: no advisory lock
        return fd
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
        os.close(fd)
        raise ConfigError(
            f"{path}: another mifusion process (pid {holder}) is writing this run; wait for it to finish "
            "or choose another --out"
        ) from None
    if create:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
    return fd


def _aside_name(path: Path) -> Path:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.old-{stamp}")
    count = 1
    while target.exists():
        count += 1
        target = path.with_name(f"{path.name}.old-{stamp}-{count}")
    return target


@dataclass
class RunDirectory:
    """A claimed run directory: locked until :meth:`release` (or the end of a ``with`` block)."""

    path: Path
    moved_to: Path | None = None
    removed: list[Path] = field(default_factory=list)
    _fd: int | None = None

    def release(self) -> None:
        """Releases the lock (the lock file stays; it holds no state)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> RunDirectory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def claim(path: Path, *, resume: bool = False, overwrite: bool = False) -> RunDirectory:
    """Creates (or reopens, when resuming) ``path`` and locks it; moves an old run aside on overwrite.

    Raises:
        ConfigError: the directory is in use by another process, or was filled by one since
            :func:`check_output` ran.
    """
    path = Path(path)
    moved: Path | None = None
    if overwrite and path.is_dir() and any(path.iterdir()):
        old_fd = _lock(path)  # refuses when a writer is still running there
        try:
            moved = _aside_name(path)
            os.rename(path, moved)  # atomic: the old run is whole under one of the two names
        finally:
            os.close(old_fd)
        log.info("moved the previous run %s aside to %s", path, moved)
    path.mkdir(parents=True, exist_ok=True)
    fd = _lock(path)
    if not resume and any(p.name != LOCK_NAME for p in path.iterdir()):
        os.close(fd)
        raise ConfigError(
            f"{path}: another process wrote into this run directory meanwhile; choose another --out"
        )
    stale = stale_temp_files(path) if resume else []
    remove_paths(stale)
    if stale:
        log.info("removed %d temp file(s) left by an interrupted run in %s", len(stale), path)
    return RunDirectory(path, moved, stale, fd)
