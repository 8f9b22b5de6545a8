"""Semi-synthetic mode: real transcripts, labels and folds from a label.csv with generated audio/vision."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from mifusion.data.synthetic import SynthParams, generate
from mifusion.data.synthetic_text import transcript_factors
from mifusion.errors import DataError

SHORT = {"text": 10, "audio": 12, "vision": 14}


def test_real_mosi_folds_text_and_labels(mosi_label_csv):
    ds = generate(text_from=mosi_label_csv, params=SynthParams(max_lengths=SHORT))
    ds.validate()
    assert [len(s) for s in ds] == [1284, 229, 686]
    with mosi_label_csv.open(newline="", encoding="utf-8") as handle:
        first_test = next(r for r in csv.DictReader(handle) if r["mode"] == "test")
    test = ds["test"]
    index = list(test.ids).index(f"{first_test['video_id']}$_${first_test['clip_id']}")
    assert test.raw_text[index] == first_test["text"]
    assert test.labels[index] == pytest.approx(float(first_test["label"]))
    assert test.token_ids is None and ds.modalities == ("text", "audio", "vision")
    gen = ds.meta["generator"]
    assert gen["mode"] == "semi-synthetic" and gen["signal"] == {"audio": 0.1, "vision": 0.05}
    assert gen["real_text_dependence"] == 0.5 and ds.meta["tokenizer"] is None


def test_semi_synthetic_is_deterministic_and_aligned_lengths_follow_words(mosi_label_csv):
    params = SynthParams(max_lengths=SHORT)
    a = generate(text_from=mosi_label_csv, seed=3, aligned=True, params=params)
    b = generate(text_from=mosi_label_csv, seed=3, aligned=True, params=params)
    assert np.array_equal(a["train"].sequences["vision"], b["train"].sequences["vision"])
    words = np.array([len(t.split()) for t in a["train"].raw_text])
    assert np.array_equal(a["train"].lengths["audio"], np.clip(words, 1, 10))


def _write(tmp_path, rows):
    path = tmp_path / "label.csv"
    path.write_text("video_id,clip_id,text,label,annotation,mode\n" + "".join(rows), encoding="utf-8")
    return path


def test_small_label_csv(tmp_path):
    path = _write(
        tmp_path,
        ["v,1,GOOD FILM,2.0,Positive,train\n", "v,2,BAD,-1.4,Negative,valid\n", "w,1,OK,0,Neutral,test\n"],
    )
    ds = generate(text_from=path, params=SynthParams(max_lengths=SHORT))
    assert [s.ids.tolist() for s in ds] == [["v$_$1"], ["v$_$2"], ["w$_$1"]]
    assert ds["train"].raw_text == ["GOOD FILM"]


@pytest.mark.parametrize(
    ("row", "needle"),
    [
        ("v,1,GOOD,high,Positive,train\n", "row 2, column 'label'"),
        ("v,1,GOOD,1.0,Positive,dev\n", "row 2, column 'mode'"),
    ],
)
def test_bad_label_csv_rows(tmp_path, row, needle):
    with pytest.raises(DataError, match=needle):
        generate(text_from=_write(tmp_path, [row]))


def test_missing_label_csv(tmp_path):
    with pytest.raises(DataError, match=r"no such label\.csv"):
        generate(text_from=tmp_path / "absent.csv")


def test_transcript_factors_depend_on_words_only():
    f = transcript_factors(["A B", "b a", "A C"], 8)
    assert np.allclose(f[0], f[1]) and not np.allclose(f[0], f[2])
    big = transcript_factors([" ".join(f"w{i}" for i in range(k, k + 10)) for k in range(2000)], 4)
    assert np.std(big, axis=0) == pytest.approx(np.ones(4), abs=0.15)
