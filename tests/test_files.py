"""OS errors as one line, no blocking on FIFOs, memory checked before allocating, normal file modes."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from mifusion.errors import StorageError
from mifusion.files import (
    check_memory,
    default_mode,
    os_error_message,
    remove_stale_temps,
    require_regular_file,
    write_error,
)


@pytest.mark.parametrize(
    ("code", "words"),
    [(errno.ENOSPC, "ENOSPC"), (errno.EACCES, "EACCES"), (errno.ENAMETOOLONG, "ENAMETOOLONG"),
     (errno.EROFS, "read-only"), (errno.EISDIR, "EISDIR")],
)  # fmt: skip
def test_os_errors_name_path_cause_and_fix(code: int, words: str) -> None:
    text = os_error_message(OSError(code, os.strerror(code)), "runs/x/last.pt")
    assert text.startswith("runs/x/last.pt: ") and words in text and "; " in text and "\n" not in text


def test_a_full_disk_is_named_even_when_a_library_hides_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hidden = RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 64 vs 0")  # torch.save
    full_disk = os.statvfs_result((4096, 4096, 100, 0, 0, 10, 0, 0, 0, 255))
    monkeypatch.setattr(os, "statvfs", lambda _path: full_disk)
    error = write_error(hidden, tmp_path / "last.pt")
    assert isinstance(error, StorageError) and "ENOSPC" in str(error) and "last.pt" in str(error)
    assert isinstance(write_error(OSError(errno.ENOSPC, "No space"), tmp_path / "a"), StorageError)
    assert write_error(ValueError("other"), tmp_path / "a") is None


def test_fifos_devices_and_folders_are_refused_without_opening(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.pkl"
    os.mkfifo(fifo)
    with pytest.raises(StorageError, match="FIFO"):
        require_regular_file(fifo)  # would block forever if it opened the pipe
    with pytest.raises(StorageError, match="a device"):
        require_regular_file("/dev/null")
    with pytest.raises(StorageError, match="a directory"):
        require_regular_file(tmp_path)
    with pytest.raises(StorageError, match="ENOENT"):
        require_regular_file(tmp_path / "missing")
    (tmp_path / "ok").write_text("x")
    assert require_regular_file(tmp_path / "ok") == tmp_path / "ok"


def test_memory_is_checked_before_allocating() -> None:
    with pytest.raises(StorageError, match="GiB of memory"):
        check_memory(float(2**70), "a huge array", "use less")
    check_memory(1024, "a small array", "never shown")


def test_written_files_get_the_umask_mode_not_0600(tmp_path: Path) -> None:
    from mifusion.writers import atomic_write_text

    old = os.umask(0o022)
    try:
        assert default_mode() == 0o644 and default_mode(directory=True) == 0o755
        atomic_write_text(tmp_path / "results.md", "x")
        assert (tmp_path / "results.md").stat().st_mode & 0o777 == 0o644
    finally:
        os.umask(old)


def test_only_unheld_temp_files_are_removed(tmp_path: Path) -> None:
    from mifusion.files import hold

    killed, live = tmp_path / ".data.pkl.abcd1234.tmp", tmp_path / ".data.pkl.efgh5678.tmp"
    killed.write_bytes(b"partial")
    live.write_bytes(b"being written")
    fd = hold(live)  # a live writer holds its temp file
    try:
        assert remove_stale_temps(tmp_path / "data.pkl") == [killed]
    finally:
        assert fd is not None
        os.close(fd)
    assert live.exists() and not killed.exists()
