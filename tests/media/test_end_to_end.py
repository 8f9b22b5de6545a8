"""From a folder of clips to a prediction: ``data extract`` -> ``train`` -> ``predict`` (the README's three
commands) on espeak-ng speech, with two extraction workers and a local (tiny, random) text encoder whose
features the extraction stores."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from mifusion.cli import main

from .makers import label_csv, require, speak

WORDS = ["good movie", "bad movie", "very good", "not good", "very bad", "good"]


def test_extract_train_predict(tmp_path: Path, tiny_encoder_dir: str) -> None:
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
