"""`mifusion sweep` on the command line: help, one-line errors, a run plus its report."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from mifusion.cli import main

TOY = ["--trainer", "mifusion.sweeps.toy:train_toy", "--heartbeat", "1", "--grace", "2"]


def test_help_has_examples(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["sweep", "--help"])
    text = capsys.readouterr().out
    assert "examples:" in text and "--workers 2" in text and "postgresql://" in text


def test_unreachable_postgres_is_one_line_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"postgresql://bob:hunter2@127.0.0.1:{port}/db"
    code = main(
        ["sweep", "--preset", "default", "--trials", "1", "--storage", url, "--out", str(tmp_path), *TOY]
    )
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "hunter2" not in err and "bob:***@127.0.0.1" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--set", "search_space={train.lrr: {type: float, low: 0.1, high: 1}}"], "not a config field"),
        (
            [
                "--set",
                "train.lr=0.01",
                "--set",
                "model.dropout=0.1",
                "--set",
                "model.options.alpha=0.1",
                "--set",
                "model.options.beta=0.1",
                "--set",
                "model.options.entropy_memory=1",
            ],
            "nothing to search",
        ),
        (["--trainer", "nowhere:train"], "cannot import trainer"),
    ],
)
def test_bad_sweep_input_exits_2(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code = main(["sweep", "--preset", "default", "--trials", "1", "--out", str(tmp_path), *TOY, *args])
    assert code == 2 and message in capsys.readouterr().err


def test_run_then_report_on_sqlite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "sweep"
    args = ["--preset", "default", "--trials", "3", "--study", "cli", "--out", str(out), *TOY]
    assert main(["sweep", *args, "--set", "train.epochs=3"]) == 0
    assert (out / "study.db").exists() and (out / "report" / "report.md").exists()
    storage = f"sqlite:///{out}/study.db"
    (out / "report" / "report.md").unlink()
    assert main(["sweep", "report", "--storage", storage, "--study", "cli", "--out", str(out)]) == 0
    assert "| COMPLETE | 3 |" in (out / "report" / "report.md").read_text(encoding="utf-8")
    assert main(["sweep", "report", "--storage", storage, "--study", "nope", "--out", str(out)]) == 2
    assert "no study named 'nope'" in capsys.readouterr().err
