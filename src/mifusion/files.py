"""Operating-system errors as one-line messages, and checks made before a file is opened or a big array
is allocated: never block on a FIFO, never grow past the machine's memory.

Example:
    >>> import errno
    >>> os_error_message(OSError(errno.ENOSPC, "No space left on device"), "runs/x/last.pt")
    'runs/x/last.pt: no space left on device (ENOSPC); free disk space or write elsewhere'
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from mifusion.errors import StorageError

FIXES: dict[int, tuple[str, str]] = {
    errno.ENOSPC: ("no space left on device", "free disk space or write elsewhere"),
    errno.EDQUOT: ("disk quota exceeded", "free space in your quota or write elsewhere"),
    errno.EACCES: ("permission denied", "check the permissions or choose another path"),
    errno.EPERM: ("operation not permitted", "check the permissions or choose another path"),
    errno.EROFS: ("read-only file system", "write to a writable location"),
    errno.ENAMETOOLONG: ("file name too long", "use a shorter path"),
    errno.ENOENT: ("no such file or directory", "check the path"),
    errno.ENOTDIR: ("a part of the path is not a directory", "check the path"),
    errno.EISDIR: ("is a directory", "give a file path"),
    errno.EEXIST: ("already exists", "choose a new path"),
    errno.ELOOP: ("too many symbolic links", "check the path"),
    errno.EMFILE: ("too many open files", "raise the open-file limit (ulimit -n)"),
}


def os_error_message(err: OSError, path: str | os.PathLike[str] | None = None) -> str:
    """``PATH: cause (ERRNO); fix`` for an OSError (the path from ``err`` when not given)."""
    where = path if path is not None else (err.filename or "a file")
    code = err.errno if isinstance(err.errno, int) else -1
    cause, fix = FIXES.get(code, ((err.strerror or str(err)).lower(), "check the path and try again"))
    name = errno.errorcode.get(code, "")
    return f"{where}: {cause}{f' ({name})' if name else ''}; {fix}"


def write_error(err: BaseException, path: Path) -> StorageError | None:
    """A StorageError for a failed write of ``path`` (OSError, or a library's error on a full disk).

    Libraries that write through their own code (``torch.save``) report a full disk as a RuntimeError
    ("unexpected pos ..."); the free space of ``path``'s folder tells the cause. None for other errors.
    """
    if isinstance(err, OSError):
        return StorageError(os_error_message(err, path))
    if isinstance(err, RuntimeError):
        try:
            free = os.statvfs(path.parent).f_bavail * os.statvfs(path.parent).f_frsize
        except (OSError, AttributeError):
            return None
        if free < 1 << 20:
            return StorageError(os_error_message(OSError(errno.ENOSPC, "No space left on device"), path))
    return None


def require_regular_file(path: str | os.PathLike[str], what: str = "file") -> Path:
    """``path`` when it is a regular file (after symlinks); StorageError for FIFOs, devices, folders.

    Uses ``stat`` only, so a FIFO is refused without opening it (opening one blocks until a writer comes).
    """
    path = Path(path)
    try:
        mode = os.stat(path).st_mode
    except OSError as err:
        raise StorageError(os_error_message(err, path)) from None
    if stat.S_ISREG(mode):
        return path
    kind = (
        "a directory" if stat.S_ISDIR(mode) else "a FIFO (named pipe)" if stat.S_ISFIFO(mode)
        else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "a socket" if stat.S_ISSOCK(mode)
        else "not a regular file"
    )  # fmt: skip
    raise StorageError(f"{path}: is {kind}, not a regular {what}; give the path of a {what}")


def available_memory() -> int | None:
    """Bytes of memory available to new allocations (Linux MemAvailable), or None when unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def check_memory(nbytes: float, what: str, fix: str) -> None:
    """Raises StorageError when ``what`` would need more than the available memory (before allocating)."""
    free = available_memory()
    if free is not None and nbytes > free:
        raise StorageError(
            f"{what} would need about {nbytes / 2**30:.1f} GiB of memory but {free / 2**30:.1f} GiB are "
            f"available; {fix}"
        )


def hold(path: Path) -> int | None:
    """Opens ``path`` (file or folder) and takes a non-blocking exclusive flock on it; the fd, or None
    when another process holds it. A writer holds its temp file this way, so that the next writer can
    tell a killed writer's leftovers (no lock: the kernel released it) from a live one's."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        return os.open(path, os.O_RDONLY)
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def remove_stale_temps(path: Path) -> list[Path]:
    """Removes ``.NAME.*.tmp`` files and folders next to ``path`` that no live writer holds."""
    import glob
    import shutil

    removed = []
    for candidate in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        fd = hold(candidate)
        if fd is None:
            continue
        try:
            if candidate.is_dir() and not candidate.is_symlink():
                shutil.rmtree(candidate, ignore_errors=True)
            else:
                candidate.unlink(missing_ok=True)
            removed.append(candidate)
        finally:
            os.close(fd)
    return removed


def default_mode(directory: bool = False) -> int:
    """The mode ``open``/``mkdir`` would give a new file or folder under the current umask (0644 and 0755
    under the usual 022); temp files from ``tempfile`` are 0600/0700 and are given this before renaming."""
    mask = os.umask(0o022)
    os.umask(mask)
    return (0o777 if directory else 0o666) & ~mask
