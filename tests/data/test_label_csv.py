"""MMSA label.csv reader: the real MOSI file, the SIMS columns, malformed files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mifusion.data.io import load_dataset
from mifusion.errors import DataError

HEADER = "video_id,clip_id,text,label,annotation,mode"


def write(tmp_path: Path, lines: list[str], header: str = HEADER) -> Path:
    path = tmp_path / "label.csv"
    path.write_text("\n".join([header, *lines]) + "\n")
    return path


ROWS = ["a,1,HELLO THERE,1.2,Positive,train", "a,2,BAD,-2,Negative,valid", 'b,1,"SO, WELL",0,Neutral,test']


def test_real_mosi_split_sizes(mosi_label_csv: Path) -> None:
    ds = load_dataset(mosi_label_csv)
    assert [len(ds[s]) for s in ("train", "valid", "test")] == [1284, 229, 686]
    assert ds.meta["format"] == "label_csv" and ds.meta["label_range"] == (-3.0, 3.0)
    assert ds["test"].ids[0] == "c7UH_rxdZv4$_$1" and ds["test"].raw_text[0] == "OH MY GOSH BAD MOVIE"
    assert ds.modalities == ("text",)


def test_small_file(tmp_path: Path) -> None:
    ds = load_dataset(write(tmp_path, ROWS))
    assert ds["test"].raw_text == ["SO, WELL"] and ds["valid"].labels.tolist() == [-2.0]
    assert ds["train"].ids.tolist() == ["a$_$1"]


def test_sims_unimodal_labels(tmp_path: Path) -> None:
    header = HEADER + ",label_T,label_A,label_V"
    rows = [
        r + ",0.2,-0.4,1"
        for r in ["a,1,X,0.6,Positive,train", "a,2,Y,-1,Negative,valid", "b,1,Z,0,Neutral,test"]
    ]
    ds = load_dataset(write(tmp_path, rows, header))
    assert ds.meta["label_range"] == (-1.0, 1.0)
    np.testing.assert_allclose(ds["train"].unimodal_labels["audio"], [-0.4])


@pytest.mark.parametrize(
    "header, rows, message",
    [
        ("video_id,clip_id,text,annotation,mode", ["a,1,X,Positive,train"], "missing column 'label'"),
        (HEADER, [*ROWS, "c,1,TRUNCATED"], "line 5 does not have the header's 6 fields"),
        (HEADER, [*ROWS, "c,1,X,high,Positive,train"], "line 5, column 'label': 'high' is not a number"),
        (HEADER, [*ROWS, "c,1,X,nan,Positive,train"], "'labels' holds NaN"),
        (HEADER, [*ROWS, "c,1,X,3.5,Positive,train"], r"outside the label range \[-3, 3\]"),
        (HEADER, [*ROWS, "c,1,X,1,Positive,holdout"], "column 'mode': 'holdout'"),
        (HEADER, ROWS[:2], "split 'test' is empty"),
        (HEADER, [*ROWS, "a,1,AGAIN,1,Positive,train"], "duplicate sample ids"),
        (HEADER, [*ROWS, 'c,1,"UNCLOSED,1,Positive,train'], "does not have the header's|malformed"),
    ],
)
def test_malformed(tmp_path: Path, header: str, rows: list[str], message: str) -> None:
    with pytest.raises(DataError, match=message) as info:
        load_dataset(write(tmp_path, rows, header))
    assert "label.csv" in str(info.value) and "\n" not in str(info.value)
