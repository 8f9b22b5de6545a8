"""Audio extraction on espeak-ng speech: pitch moves the pitch columns, rate moves the true length,
bad clips are reported and skipped, the per-clip cache resumes, and argument mistakes stop before work."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mifusion.cli import main

from .makers import label_csv, require, silence, speak

SENTENCE = "this movie was really good and I liked it a lot"


@pytest.fixture(scope="module", autouse=True)
def _ready() -> None:
    require()


def _voiced_mean(column: np.ndarray) -> float:
    return float(column[column > 0].mean())


@pytest.mark.parametrize(
    ("extractor", "column"),
    [("egemaps", "F0semitoneFrom27.5Hz_sma3nz"), ("compare", "F0final_sma"), ("librosa", "f0")],
)
def test_higher_pitch_gives_higher_f0(tmp_path: Path, extractor: str, column: str) -> None:
    from mifusion.data.feature_manifest import columns
    from mifusion.media.audio import audio_features, opensmile_names
    from mifusion.media.decode import read_audio

    names = [c["name"] for c in columns("librosa")] if extractor == "librosa" else opensmile_names(extractor)
    index = names.index(column)
    low = audio_features(read_audio(str(speak(tmp_path / "low.wav", SENTENCE, pitch=10))), extractor, 25)
    high = audio_features(read_audio(str(speak(tmp_path / "high.wav", SENTENCE, pitch=90))), extractor, 25)
    assert low.shape[1] == high.shape[1] == len(names)
    f_low, f_high = _voiced_mean(low[:, index]), _voiced_mean(high[:, index])
    # espeak-ng's pitch 10 vs 90 is about a factor 1.7 in F0: at least 4 semitones / 30 Hz apart
    assert f_high - f_low > (4.0 if extractor == "egemaps" else 30.0), (f_low, f_high)
    assert len(names) == {"egemaps": 25, "compare": 65, "librosa": 20}[extractor]  # as docs/data.md lists


def test_slower_speech_is_longer_at_the_stated_rate(tmp_path: Path) -> None:
    from mifusion.media.audio import audio_features
    from mifusion.media.decode import SAMPLE_RATE, read_audio

    slow = read_audio(str(speak(tmp_path / "slow.wav", SENTENCE, rate=100)))
    fast = read_audio(str(speak(tmp_path / "fast.wav", SENTENCE, rate=250)))
    for samples in (slow, fast):  # the true length is the duration times the frame rate
        frames = audio_features(samples, "egemaps", 10).shape[0]
        assert abs(frames - len(samples) / SAMPLE_RATE * 10) <= 1.5
    assert audio_features(slow, "egemaps", 10).shape[0] > 1.5 * audio_features(fast, "egemaps", 10).shape[0]


@pytest.fixture
def clips(tmp_path: Path) -> tuple[Path, Path]:
    media = tmp_path / "clips"
    speak(media / "a" / "0.wav", "good movie", pitch=30)
    speak(media / "a$_$1.wav", "very good", pitch=60)  # the flat layout
    speak(media / "b" / "0.wav", "bad movie", pitch=70)
    silence(media / "c" / "0.wav")
    (media / "c" / "1.wav").write_bytes(b"not audio at all")
    rows = [("a", "0", "good movie", 2.0, "train"), ("c", "0", "silence", 0.0, "train"),
            ("c", "1", "broken", 0.0, "train"), ("a", "1", "very good", 1.0, "valid"),
            ("b", "0", "bad movie", -2.0, "test"), ("d", "0", "missing", 0.0, "test")]  # fmt: skip
    return media, label_csv(tmp_path / "label.csv", rows)


def test_bad_clips_are_skipped_and_reported(clips: tuple[Path, Path], tmp_path: Path, capsys) -> None:
    import csv

    from mifusion.data.io import load_dataset
    from mifusion.data.summary import format_summary, summarize

    media, labels = clips
    out = tmp_path / "out"
    assert main(["data", "extract", str(media), "--labels", str(labels), str(out), "--quiet"]) == 0
    with open(tmp_path / "out.report.csv", newline="") as handle:
        report = {r["id"]: r["reason"] for r in csv.DictReader(handle)}
    assert set(report) == {"c$_$0", "c$_$1", "d$_$0"}
    assert report["c$_$0"].startswith("silent") and report["c$_$1"].startswith("unreadable")
    assert report["d$_$0"] == "no media file"
    dataset = load_dataset(out)
    assert [s.ids.tolist() for s in dataset] == [["a$_$0"], ["a$_$1"], ["b$_$0"]]
    assert dataset["train"].raw_text == ["good movie"]
    assert dataset.meta["features"]["audio"]["columns"][10]["name"] == "F0semitoneFrom27.5Hz_sma3nz"
    lengths = dataset["test"].lengths["audio"]
    assert 0 < lengths[0] <= dataset["test"].sequences["audio"].shape[1]
    text = format_summary(summarize(dataset))
    assert "F0semitoneFrom27.5Hz_sma3nz: semitones above 27.5 Hz" in text
    assert not list(tmp_path.glob(".out.extract-cache"))  # removed once the dataset is written


def test_a_killed_run_resumes_from_the_cache(clips: tuple[Path, Path], tmp_path: Path, monkeypatch) -> None:
    from mifusion.data.io import load_dataset
    from mifusion.media import extract

    media, labels = clips
    args = ["data", "extract", str(media), "--labels", str(labels), "--quiet", "--keep-cache"]
    assert main([*args, str(tmp_path / "first")]) == 0
    cache = tmp_path / ".first.extract-cache"
    assert len(list(cache.glob("*/*.npz"))) == 5  # one entry per clip with media, bad clips included

    def killed(*_args: object) -> None:
        raise KeyboardInterrupt  # no clip may be extracted again: all come from the cache

    monkeypatch.setattr(extract, "clip_features", killed)
    assert main([*args, str(tmp_path / "first")]) == 0
    assert load_dataset(tmp_path / "first")["train"].ids.tolist() == ["a$_$0"]


@pytest.mark.parametrize(
    "extra",
    [["--fps", "0"], ["--fps", "500"], ["--workers", "0"], ["--audio", "mfcc"], ["--labels", "nope.csv"],
     ["--encoder", "no_such_model"]],
)  # fmt: skip
def test_argument_mistakes_stop_before_work(clips: tuple[Path, Path], tmp_path: Path, capsys, extra) -> None:
    media, labels = clips
    out = tmp_path / "never"
    try:
        code = main(["data", "extract", str(media), "--labels", str(labels), str(out), "--quiet", *extra])
    except SystemExit as stop:  # argparse's own usage errors
        code = stop.code
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "error" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clips", "label.csv"]  # nothing written


def test_a_folder_without_any_matching_clip_is_refused(
    clips: tuple[Path, Path], tmp_path: Path, capsys
) -> None:
    _, labels = clips
    (tmp_path / "empty").mkdir()
    assert (
        main(["data", "extract", str(tmp_path / "empty"), "--labels", str(labels), str(tmp_path / "o")]) == 2
    )
    assert "no media file for any" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
