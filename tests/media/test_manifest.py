"""The feature manifest: units for every column, and docs/data.md naming every column (no extra needed)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mifusion.data.feature_manifest import (
    EGEMAPS,
    LIBROSA,
    VISION_BASE,
    VISION_POSE,
    columns,
    describe,
    unit_of,
)

DOCS = (Path(__file__).parents[2] / "docs" / "data.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "names",
    [EGEMAPS, [n for n, _ in LIBROSA], [n for n, _ in VISION_BASE + VISION_POSE]],
    ids=["egemaps", "librosa", "vision"],
)
def test_docs_name_every_column(names: list[str]) -> None:
    series = [n for n in names if re.match(r"mfcc\d", n)]
    for name in names:
        if name in series[1:-1]:
            continue  # a numbered series is written first ... last
        assert f"`{name}`" in DOCS, name


def test_every_egemaps_column_has_a_specific_unit() -> None:
    assert all(unit_of("egemaps", n) != "arbitrary" or "Flux" in n for n in EGEMAPS)
    assert [c["unit"] for c in columns("egemaps")][10] == "semitones above 27.5 Hz (0 when unvoiced)"


def test_compare_units_follow_the_names() -> None:
    assert unit_of("compare", "F0final_sma") == "Hz (0 when unvoiced)"
    assert unit_of("compare", "pcm_fftMag_spectralRollOff90.0_sma") == "Hz"
    assert unit_of("compare", "audSpec_Rfilt_sma[7]").startswith("arbitrary")


def test_vision_pose_columns_only_when_requested() -> None:
    assert [c["name"] for c in columns("vision")] == [n for n, _ in VISION_BASE]
    assert columns("vision", ["head_yaw"])[-1]["name"] == "head_pitch"


def test_describe_lists_rate_and_units() -> None:
    lines = describe({"audio": {"extractor": "librosa", "fps": 10.0, "columns": columns("librosa")}})
    assert lines[0] == "  audio: librosa at 10.0 frames/s (20 columns)"
    assert lines[1].strip() == "0 f0: Hz, librosa.pyin fundamental frequency (0 when unvoiced)"
    aligned = {
        "audio": {"extractor": "egemaps", "fps": 25.0, "steps": "words", "columns": columns("egemaps")}
    }
    assert describe(aligned)[0] == "  audio: egemaps at 25.0 frames/s, averaged per word (25 columns)"
