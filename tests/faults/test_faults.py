"""Fault injection: every hostile input gives exit code 2, one line, nothing written and no code run."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from hostile import CASES, PWNED, Case

from mifusion.cli import main


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every path under ``root`` with its size and modification time (links not followed)."""
    out = {}
    for path in sorted(root.rglob("*")):
        info = path.lstat()
        out[str(path.relative_to(root))] = (info.st_size, info.st_mtime_ns)
    return out


def run_cli(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exit_:  # argparse usage errors
        return int(exit_.code or 0)


def test_every_class_has_several_cases() -> None:
    counts = Counter(case.fault_class for case in CASES)
    assert all(counts[c] >= 3 for c in range(1, 7)), counts
    assert len({case.name for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"class{c.fault_class}-{c.name}")
def test_hostile_input_is_refused_cleanly(
    case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    inputs, work = tmp_path / "inputs", tmp_path / "work"
    inputs.mkdir()
    work.mkdir()
    argv = case.build(inputs)
    monkeypatch.chdir(work)
    monkeypatch.setenv("MIFUSION_DEBUG", "")
    before = snapshot(tmp_path)
    capsys.readouterr()
    code = run_cli(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1, err
    assert "internal error" not in err
    for word in case.expect:
        assert word in err, (word, err)
    assert snapshot(tmp_path) == before, "something was written"
    assert not (inputs / PWNED).exists(), "code in a hostile file was run"
