"""Every script in examples/ runs end to end on small synthetic data (CPU, small sizes)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SCRIPTS = sorted(EXAMPLES.glob("[0-9][0-9]_*.py"))


def test_examples_exist_and_are_short() -> None:
    assert len(SCRIPTS) >= 3, f"expected at least three examples in {EXAMPLES}"
    for script in SCRIPTS:
        lines = script.read_text().count("\n")
        assert lines < 80, f"{script.name} has {lines} lines; examples stay under 80"


@pytest.mark.parametrize("script", SCRIPTS, ids=[s.stem for s in SCRIPTS])
def test_example_runs(script: Path, tmp_path: Path) -> None:
    env = dict(os.environ, MIFUSION_EXAMPLE_SMALL="1", OMP_NUM_THREADS="1", MPLBACKEND="Agg")
    result = subprocess.run(
        [sys.executable, str(script), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, f"{script.name} failed:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}"
    assert result.stdout.strip(), f"{script.name} printed nothing"
    assert "nan" not in result.stdout.lower(), f"{script.name} printed a NaN:\n{result.stdout}"
