"""Run-directory safety: refusal of existing runs, overwrite moves aside, one writer, stale temps, resume."""

from __future__ import annotations

from pathlib import Path

import pytest

from mifusion.config import load
from mifusion.errors import ConfigError
from mifusion.experiments.run_guard import (
    check_output,
    check_resume,
    claim,
    resume_changes,
    stale_temp_files,
)


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def test_an_existing_run_is_refused_and_nothing_is_touched(tmp_path: Path) -> None:
    run = tmp_path / "run"
    (run / "seed_1").mkdir(parents=True)
    (run / "config.yaml").write_text("train: {}\n")
    before = _files(tmp_path)
    with pytest.raises(ConfigError, match=r"already exists.*--resume.*--overwrite"):
        check_output(run)
    assert _files(tmp_path) == before
    check_output(tmp_path / "empty")  # a new path is fine
    (tmp_path / "empty").mkdir()
    check_output(tmp_path / "empty")  # so is an empty folder


def test_overwrite_moves_the_old_run_aside_whole(tmp_path: Path) -> None:
    run = tmp_path / "run"
    (run / "seed_1").mkdir(parents=True)
    (run / "seed_1" / "best.pt").write_bytes(b"old")
    check_output(run, overwrite=True)
    with claim(run, overwrite=True) as claimed:
        assert claimed.moved_to is not None and claimed.moved_to.name.startswith("run.old-")
        assert (claimed.moved_to / "seed_1" / "best.pt").read_bytes() == b"old"
        assert [p.name for p in run.iterdir()] == [".lock"]


def test_a_second_writer_is_refused_while_the_first_holds_the_lock(tmp_path: Path) -> None:
    run = tmp_path / "run"
    with claim(run):
        with pytest.raises(ConfigError, match=r"another mifusion process \(pid \d+\)"):
            claim(run, resume=True)
        with pytest.raises(ConfigError, match="another mifusion process"):
            claim(run, overwrite=True)
        (run / "config.yaml").write_text("train: {}\n")
        with pytest.raises(ConfigError, match="another mifusion process"):
            check_output(run, resume=True)  # found before any work starts
    with claim(run, resume=True):  # released: the next writer gets it
        pass


def test_temp_files_of_killed_writers_are_removed_on_resume(tmp_path: Path) -> None:
    run = tmp_path / "run"
    seed = run / "seed_1"
    (seed / "plots").mkdir(parents=True)
    stale = [seed / ".last.pt.k2j_x9ab", seed / ".metrics.csv.abcdefgh", seed / "plots" / ".terms.tmp.png"]
    for path in stale:
        path.write_bytes(b"partial")
    (run / ".out.abcd1234.tmp").mkdir()
    keep = [seed / "last.pt", seed / "metrics.csv", run / "config.yaml"]
    for path in keep:
        path.write_bytes(b"ok")
    assert stale_temp_files(run) == sorted([*stale, run / ".out.abcd1234.tmp"])
    with claim(run, resume=True) as claimed:
        assert len(claimed.removed) == 4
    assert all(p.exists() for p in keep) and not any(p.exists() for p in stale)


def test_resume_refuses_settings_that_would_break_the_checkpoint(tmp_path: Path) -> None:
    saved = load(None)
    assert resume_changes(saved, load(None, ["train.epochs=99", "train.seeds=[1,2]"])) == []
    changed = load(None, ["model.sequence.hidden_dim=64", "train.lr=0.5"])
    assert resume_changes(saved, changed) == [
        "model.sequence.hidden_dim (16 -> 64)",
        "train.lr (0.001 -> 0.5)",
    ]
    with pytest.raises(ConfigError, match=r"model.sequence.hidden_dim \(16 -> 64\)"):
        check_resume(tmp_path, saved, changed)


def test_unusable_destinations_are_refused_before_any_work(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError, match="is not a directory"):
        check_output(tmp_path / "file" / "run")
    with pytest.raises(ConfigError, match="too long"):
        check_output(tmp_path / ("x" * 300))
    with pytest.raises(ConfigError, match="nothing to resume"):
        check_output(tmp_path / "none", resume=True)
    locked = tmp_path / "ro"
    locked.mkdir(mode=0o500)
    try:
        import os

        if os.access(locked, os.W_OK):  # root ignores permissions
            pytest.skip("running as root")
        with pytest.raises(ConfigError, match="not writable"):
            check_output(locked / "run")
    finally:
        locked.chmod(0o700)
