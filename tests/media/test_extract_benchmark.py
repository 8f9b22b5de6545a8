"""benchmarks/extract_speed.py runs end to end in its ``--smoke`` mode and writes its table."""

from __future__ import annotations

import importlib
import math
import sys
from pathlib import Path

from .makers import VISION, require

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def test_smoke_run_writes_its_table(tmp_path: Path) -> None:
    require((*VISION, "skimage"))
    for name in ("common", "extract_speed"):
        sys.modules.pop(name, None)  # other folders have a ``common`` too
    sys.path.insert(0, str(BENCHMARKS))
    try:
        rows = importlib.import_module("extract_speed").main(["--smoke", "--out", str(tmp_path)])
    finally:
        sys.path.remove(str(BENCHMARKS))
        for name in ("common", "extract_speed"):
            sys.modules.pop(name, None)
    assert [r["extractor"] for r in rows][:2] == ["egemaps", "vision"]
    for row in rows:
        assert math.isfinite(row["clips_per_s"]) and row["clips_per_s"] > 0
    assert abs(rows[0]["decode_share"] + rows[0]["features_share"] - 1) < 1e-9
    assert (tmp_path / "extract_speed.csv").read_text().count("\n") == len(rows) + 1
