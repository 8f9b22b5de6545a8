"""From a folder of clips to a prediction: ``data extract`` -> ``train`` -> ``predict`` on the test split
and on one clip (the README's commands) on espeak-ng speech, with two extraction workers and a local
(tiny, random) text encoder whose features the extraction stores."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from mifusion.cli import main

from .makers import label_csv, require, speak

WORDS = ["good movie", "bad movie", "very good", "not good", "very bad", "good"]


def test_extract_train_predict(
    tmp_path: Path, tiny_encoder_dir: str, capsys: pytest.CaptureFixture[str]
) -> None:
    require()
    media, rows = tmp_path / "clips", []
    for i in range(12):
        text, mode = WORDS[i % len(WORDS)], "train" if i < 8 else ("valid" if i < 10 else "test")
        speak(media / f"v{i // 3}" / f"{i % 3}.wav", text, pitch=20 + 6 * i, rate=140 + 5 * i)
        rows.append((f"v{i // 3}", str(i % 3), text, round(-3 + i * 0.5, 1), mode))
    labels = label_csv(tmp_path / "label.csv", rows)
    data, run, pred = tmp_path / "data", tmp_path / "run", tmp_path / "pred.csv"

    extract = ["data", "extract", str(media), "--labels", str(labels), str(data), "--workers", "2"]
    assert main([*extract, "--fps", "10", "--encoder", tiny_encoder_dir, "--quiet"]) == 0
    assert main([
        "train", "--preset", "synth_lf_dnn", "--data", str(data), "--modalities", "text,audio", "--seeds", "1",
        "--out", str(run), "--quiet", "--set", "train.epochs=2", "model.hidden_dim=16", "train.batch_size=4",
        "train.num_threads=1", "train.device=cpu",
    ]) == 0  # fmt: skip
    assert main(["predict", str(run), str(data), "--out", str(pred)]) == 0
    with open(pred, newline="") as handle:
        predictions = list(csv.DictReader(handle))
    assert [p["id"] for p in predictions] == ["v3$_$1", "v3$_$2"]
    assert all(-3.0 <= float(p["prediction"]) <= 3.0 for p in predictions)
    assert float(predictions[1]["label"]) == pytest.approx(2.5)

    # one clip (here the last test clip again) is extracted with the run's settings: the same prediction
    capsys.readouterr()
    clip = media / "v3" / "2.wav"
    assert main(["predict", str(run), str(clip), "--text", WORDS[11 % len(WORDS)], "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["settings"] == {
        "audio": "egemaps",
        "fps": 10.0,
        "vision": False,
        "text_encoder": tiny_encoder_dir,
    }
    assert list(result["seeds"]) == ["1"]
    assert result["prediction"] == pytest.approx(float(predictions[1]["prediction"]), abs=1e-4)
    assert main(["predict", str(run), str(clip)]) == 2  # a clip needs its transcript
    assert "needs its transcript" in capsys.readouterr().err
    words = tmp_path / "words.csv"
    words.write_text("video_id,clip_id,word,start,end\nv3,2,good,0.0,0.3\n")
    assert main(["predict", str(run), str(clip), "--text", "good", "--words", str(words)]) == 2
    assert "trained on frame-level features, not word-aligned ones; drop --words" in capsys.readouterr().err


def test_a_run_on_other_features_is_refused_in_one_line(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from mifusion.data.io import save_safe
    from mifusion.data.synthetic import generate
    from mifusion.errors import DataError
    from mifusion.media.predict import _training_meta

    def run(path: object) -> SimpleNamespace:
        return SimpleNamespace(cfg=SimpleNamespace(data=SimpleNamespace(path=path)))

    with pytest.raises(DataError, match="built-in synthetic data"):
        _training_meta(run(None), tmp_path)
    save_safe(generate("mosi", n=30, seed=0), tmp_path / "synth")
    with pytest.raises(DataError, match="no feature manifest"):
        _training_meta(run(str(tmp_path / "synth")), tmp_path)
    with pytest.raises(DataError, match="is gone"):
        _training_meta(run(str(tmp_path / "moved")), tmp_path)
