"""`mifusion data synth` MMSA-layout options: left padding, no length arrays, -inf audio, max lengths."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from mifusion.cli import main
from mifusion.data.io import load_dataset
from mifusion.data.synthetic import SynthParams, generate


def test_left_padded_file_without_lengths_reads_back_as_the_generated_data(tmp_path: Path) -> None:
    right, left = tmp_path / "right.pkl", tmp_path / "left.pkl"
    common = ["--n", "60", "--seed", "4", "--aligned", "--max-length", "text=12"]
    assert main(["data", "synth", str(right), *common]) == 0
    assert main(["data", "synth", str(left), *common, "--padding", "left", "--no-lengths"]) == 0
    raw = pickle.loads(left.read_bytes())
    assert "audio_lengths" not in raw["train"] and "vision_lengths" not in raw["train"]
    lengths = load_dataset(right)["train"].lengths["audio"]
    short = int(np.argmin(lengths))
    assert not raw["train"]["audio"][short, 0].any() and raw["train"]["audio"][short, -1].any()
    a, b = load_dataset(right), load_dataset(left)
    for split in a.splits:
        for m in ("audio", "vision"):
            np.testing.assert_array_equal(a[split].lengths[m], b[split].lengths[m])
            np.testing.assert_array_equal(a[split].sequences[m], b[split].sequences[m])


def test_nonfinite_audio_rate_marks_only_valid_audio_frames() -> None:
    small = {"text": 8, "audio": 30, "vision": 12}
    base = generate("mosi", n=80, seed=2, params=SynthParams(max_lengths=small))
    marked = generate("mosi", n=80, seed=2, params=SynthParams(max_lengths=small, nonfinite_audio_rate=0.1))
    for split in base.splits:
        audio = marked[split].sequences["audio"]
        bad = ~np.isfinite(audio)
        assert bad.any() and (audio[bad] == -np.inf).all() and not bad[..., 1:].any()
        steps = np.arange(audio.shape[1])[None, :]
        assert not (bad[..., 0] & (steps >= marked[split].lengths["audio"][:, None])).any()
        np.testing.assert_array_equal(
            np.where(bad, 0, audio), np.where(bad, 0, base[split].sequences["audio"])
        )
        np.testing.assert_array_equal(marked[split].sequences["vision"], base[split].sequences["vision"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--padding", "left"], "MMSA pickles"),
        (["--max-length", "audio=0"], "MODALITY=FRAMES"),
        (["--max-length", "smell=3"], "MODALITY=FRAMES"),
    ],
)
def test_bad_layout_options_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    out = tmp_path / "safe_dir"
    assert main(["data", "synth", str(out), "--n", "30", *args]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()
