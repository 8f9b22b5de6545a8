"""Word alignment (``data extract --align words``): per-word means checked against hand-picked frames,
word timings from CSV and CMU-SDK ``.csd``, mistakes refused before any work, and the aligned output
read by the aligned models (EF-LSTM on word-level text features, MAG-BERT on the word text)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mifusion.cli import main
from mifusion.errors import DataError
from mifusion.media.words import align, check_timings, read_word_timings

from .makers import label_csv, require, speak

FPS = 10.0  # frame t covers [t/10, (t+1)/10) s, centre (t + 0.5)/10 s


def test_align_means_the_frames_whose_centre_lies_in_each_word() -> None:
    frames = np.array([[1.0, 10.0], [3.0, 20.0], [5.0, 30.0], [7.0, 40.0], [9.0, 50.0], [11.0, 60.0]])
    spans = np.array([
        [0.00, 0.30],  # centres 0.05, 0.15, 0.25 -> frames 0-2: (1+3+5)/3, (10+20+30)/3
        [0.30, 0.40],  # centre 0.35 -> frame 3 alone
        [0.41, 0.44],  # no centre inside: its midpoint 0.425 s lies in frame 4 -> filled with frame 4
        [0.40, 0.60],  # centres 0.45, 0.55 -> frames 4, 5
        [0.58, 0.62],  # past the last centre: midpoint 0.60 s -> frame 6, clipped to the last frame (5)
        [0.02, 0.12],  # centre 0.05 -> frame 0 (frame 1 starts at 0.10 but its centre is outside)
    ])  # fmt: skip
    steps, filled = align(frames, FPS, spans)
    assert steps.tolist() == [[3.0, 20.0], [7.0, 40.0], [9.0, 50.0], [10.0, 55.0], [11.0, 60.0], [1.0, 10.0]]
    assert filled == 2


def test_word_timings_from_csv(tmp_path: Path) -> None:
    path = tmp_path / "words.csv"
    path.write_text(
        "video_id,clip_id,word,start,end\nv,1,movie,0.5,0.9\nv,1,good,0.1,0.4\nv,1,sp,0.4,0.5\nw,2,bad,0,0.3\n"
    )
    assert read_word_timings(path) == {
        "v$_$1": [("good", 0.1, 0.4), ("movie", 0.5, 0.9)],  # ordered by start; the pause dropped
        "w$_$2": [("bad", 0.0, 0.3)],
    }
    path.write_text("video_id,clip_id,word,start,end\nv,1,good,0.4,0.1\n")
    with pytest.raises(
        DataError, match=r"line 2: word 'good' of clip 'v\$_\$1' has start 0.4 s and end 0.1 s"
    ):
        read_word_timings(path)
    path.write_text("video_id,clip_id,word,begin,end\nv,1,good,0.1,0.4\n")
    with pytest.raises(DataError, match="missing column 'start'"):
        read_word_timings(path)


def test_word_timings_from_a_cmu_sdk_csd(tmp_path: Path) -> None:
    h5py = pytest.importorskip("h5py")
    path = tmp_path / "words.csd"
    with h5py.File(path, "w") as handle:
        data = handle.create_group("words/data")
        for key, words, spans in (
            ("v[1]", [b"sp", b"good", b"movie"], [[0.0, 0.1], [0.1, 0.4], [0.5, 0.9]]),
            ("w$_$2", [b"bad"], [[0.0, 0.3]]),
        ):
            data.create_dataset(f"{key}/features", data=np.array(words, dtype="S8").reshape(-1, 1))
            data.create_dataset(f"{key}/intervals", data=np.array(spans))
    assert read_word_timings(path) == {
        "v$_$1": [("good", 0.1, 0.4), ("movie", 0.5, 0.9)],
        "w$_$2": [("bad", 0.0, 0.3)],
    }
    numbers = tmp_path / "covarep.csd"  # a feature sequence given as the words
    with h5py.File(numbers, "w") as handle:
        handle.create_dataset("covarep/data/v/features", data=np.zeros((2, 3)))
        handle.create_dataset("covarep/data/v/intervals", data=np.array([[0.0, 0.1], [0.1, 0.2]]))
    with pytest.raises(DataError, match="a words sequence holds strings"):
        read_word_timings(numbers)


def test_check_timings_needs_every_clip_and_words_inside_it() -> None:
    words = {"a": [("hi", 0.0, 0.5)], "b": [("yo", 0.2, 1.05)]}
    check_timings(words, {"a": 1.0, "b": 1.0}, FPS)  # 1.05 s: within one frame (0.1 s) of the end
    with pytest.raises(DataError, match=r"no word timings for 1 clip\(s\) with media, e.g. 'c'"):
        check_timings(words, {"a": 1.0, "c": 1.0}, FPS)
    with pytest.raises(DataError, match=r"word .yo. at 0\.2-1\.05 s lies outside the clip"):
        check_timings(words, {"a": 1.0, "b": 0.9}, FPS)


def _clips(tmp_path: Path) -> tuple[Path, Path, Path]:
    media = tmp_path / "clips"
    rows = []
    for i, (text, mode) in enumerate(
        [("good movie", "train"), ("bad movie", "valid"), ("very good", "test")]
    ):
        speak(media / "v" / f"{i}.wav", text, pitch=30 + 20 * i)
        rows.append(("v", str(i), text, float(i - 1), mode))
    labels = label_csv(tmp_path / "label.csv", rows)
    words = tmp_path / "words.csv"
    lines = ["video_id,clip_id,word,start,end"]
    for i, (first, second) in enumerate([("good", "movie"), ("bad", "movie"), ("very", "good")]):
        # word 1: frames 0-2; a 20 ms word between frame centres (filled with frame 3); word 2: frames 4-6
        lines += [f"v,{i},{first},0.0,0.3", f"v,{i},uh,0.31,0.33", f"v,{i},{second},0.4,0.7"]
    words.write_text("\n".join(lines) + "\n")
    return media, labels, words


def test_extract_align_words_end_to_end(
    tmp_path: Path, tiny_encoder_dir: str, capsys: pytest.CaptureFixture[str]
) -> None:
    require()
    from mifusion.data.io import load_dataset

    media, labels, words = _clips(tmp_path)
    frames, aligned = tmp_path / "frames", tmp_path / "aligned.pkl"
    base = ["data", "extract", str(media), "--labels", str(labels), "--fps", "10", "--quiet"]
    assert main([*base, str(frames)]) == 0
    assert (
        main([*base, str(aligned), "--align", "words", "--words", str(words), "--encoder", tiny_encoder_dir])
        == 0
    )

    per_frame = load_dataset(frames, "auto")
    ds = load_dataset(aligned, "auto")  # the MMSA pickle (--to mmsa by the suffix)
    assert ds.meta["aligned"] is True
    assert ds.meta["features"]["audio"]["steps"] == "words"
    assert ds.meta["extraction"]["alignment"]["words"] == 9
    assert ds.meta["extraction"]["alignment"]["filled"] == {"audio": 3}
    assert ds.meta["text_features"]["pooling"] == "words"
    for name in ("train", "valid", "test"):
        split, source = ds[name], per_frame[name]
        a = source.sequences["audio"][0]
        expected = np.stack([a[0:3].mean(0), a[3], a[4:7].mean(0)])  # frames picked by hand, above
        np.testing.assert_allclose(split.sequences["audio"][0, :3], expected, rtol=1e-5, atol=1e-5)
        assert split.lengths["audio"].tolist() == split.lengths["text"].tolist() == [3]
        assert split.sequences["text"].shape[:2] == split.sequences["audio"].shape[:2] == (1, 3)
        assert np.abs(split.sequences["text"][0]).sum(axis=1).min() > 0  # every word has a text state
    assert ds["train"].raw_text == ["good uh movie"]
    report = (tmp_path / "aligned.pkl.alignment.csv").read_text().splitlines()
    assert report[0] == "id,split,words,audio_filled" and report[1] == "v$_$0,train,3,1"

    # EF-LSTM reads the word-level text, audio and vision steps; the run trains and scores
    run = tmp_path / "run"
    assert main([
        "train", "--preset", "synth_ef_lstm", "--data", str(aligned), "--modalities", "text,audio", "--seeds", "1",
        "--out", str(run), "--quiet", "--set", "train.epochs=1", "model.hidden_dim=8", "train.batch_size=2",
        "train.num_threads=1", "train.device=cpu",
    ]) == 0  # fmt: skip

    # one clip through the run, with its word timings: the same as its row of the aligned dataset
    pred = tmp_path / "pred.csv"
    assert main(["predict", str(run), str(aligned), "--out", str(pred)]) == 0
    expected = float(pred.read_text().splitlines()[1].split(",")[1])
    capsys.readouterr()
    clip = media / "v" / "2.wav"
    assert main(["predict", str(run), str(clip), "--words", str(words), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["prediction"] == pytest.approx(expected, abs=1e-4)
    assert main(["predict", str(run), str(clip), "--text", "very good"]) == 2
    assert "give the clip's word timings: --words FILE" in capsys.readouterr().err


def test_mag_bert_trains_on_the_word_text(tmp_path: Path, tiny_encoder_dir: str) -> None:
    require()
    media, labels, words = _clips(tmp_path)
    out = tmp_path / "aligned"
    extract = ["data", "extract", str(media), "--labels", str(labels), str(out), "--fps", "10", "--quiet"]
    assert main([*extract, "--align", "words", "--words", str(words)]) == 0
    assert main([
        "train", "--preset", "synth_mag_bert", "--data", str(out), "--modalities", "text,audio", "--seeds", "1",
        "--out", str(tmp_path / "run"), "--quiet", "--set", "train.epochs=1", "model.hidden_dim=8",
        "train.batch_size=2", "train.num_threads=1", "train.device=cpu", f"model.text.pretrained={tiny_encoder_dir}",
    ]) == 0  # fmt: skip


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda rows: [r for r in rows if not r.startswith("v,2,")], "no word timings for 1 clip(s)"),
        (lambda rows: [*rows, "v,1,late,0.5,0.2"], "has start 0.5 s and end 0.2 s"),
        (lambda rows: [*rows, "v,1,late,0.9,9.0"], "lies outside the clip"),
    ],
    ids=["missing clip", "start after end", "outside the clip"],
)
def test_timing_mistakes_are_refused_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], edit: object, message: str
) -> None:
    require()
    media, labels, words = _clips(tmp_path)
    lines = words.read_text().splitlines()
    words.write_text("\n".join([lines[0], *edit(lines[1:])]) + "\n")  # type: ignore[operator]
    out = tmp_path / "out"
    argv = ["data", "extract", str(media), "--labels", str(labels), str(out), "--align", "words"]
    assert main([*argv, "--words", str(words), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "clips",
        "label.csv",
        "words.csv",
    ]  # nothing written


def test_align_and_words_go_together(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    require()
    media, labels, _ = _clips(tmp_path)
    assert (
        main(
            ["data", "extract", str(media), "--labels", str(labels), str(tmp_path / "o"), "--align", "words"]
        )
        == 2
    )
    assert "--align words and --words FILE go together" in capsys.readouterr().err
