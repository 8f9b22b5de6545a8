"""MMSA pickle reader/writer: padding, layouts, meta round trip, non-finite features, bad input."""

from __future__ import annotations

import logging
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mifusion.data.io import load_dataset, save_mmsa_pickle
from mifusion.data.mmsa_pickle import detect_left_padding, infer_lengths, to_right_padding
from mifusion.errors import DataError

SPLIT_SIZES = {"train": 6, "valid": 3, "test": 4}


def raw_split(
    n: int, seed: int, left: bool = True, with_lengths: bool = True, sims: bool = False
) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    lengths = {"audio": rng.integers(1, 7, n), "vision": rng.integers(1, 5, n)}
    lengths["audio"][0] = 0  # a sample without audio frames is valid
    raw: dict[str, Any] = {
        "id": np.asarray([f"v{seed}$_${i}" for i in range(n)], dtype=object),
        "raw_text": np.asarray([f"TEXT {i}" for i in range(n)], dtype=object),
        "regression_labels": rng.uniform(-1 if sims else -3, 1 if sims else 3, n).astype(np.float32),
    }
    for m, steps, dim in (("audio", 6, 3), ("vision", 4, 2)):
        seq = np.zeros((n, steps, dim), dtype=np.float32)
        for i, length in enumerate(lengths[m]):
            frames = rng.uniform(1, 2, (length, dim))  # never zero, so padding is identifiable
            if length:
                seq[i, steps - length :] = frames if left else 0
                seq[i, :length] = seq[i, :length] if left else frames
        raw[m] = seq
        if with_lengths:
            raw[f"{m}_lengths"] = lengths[m]
    ids = rng.integers(100, 200, (n, 5))
    mask = (np.arange(5)[None] < rng.integers(1, 6, n)[:, None]).astype(np.float64)
    raw["text_bert"] = np.stack([ids * mask, mask, np.zeros_like(mask)], axis=1)
    if sims:
        for suffix in "TAV":
            raw[f"regression_labels_{suffix}"] = rng.uniform(-1, 1, n).astype(np.float32)
    return raw


def write(path: Path, top: Any) -> Path:
    path.write_bytes(pickle.dumps(top, protocol=4))
    return path


def make_top(**kwargs: Any) -> dict[str, Any]:
    return {s: raw_split(n, seed, **kwargs) for seed, (s, n) in enumerate(SPLIT_SIZES.items())}


def right_padded(raw: dict[str, Any], m: str, lengths: np.ndarray) -> np.ndarray:
    return to_right_padding(raw[m], lengths)


@pytest.mark.parametrize("with_lengths", [True, False])
@pytest.mark.parametrize("left", [True, False])
def test_padding_is_normalised_to_the_right(tmp_path: Path, left: bool, with_lengths: bool) -> None:
    top = make_top(left=left, with_lengths=with_lengths)
    ds = load_dataset(write(tmp_path / "a.pkl", top))
    for name, split in ds.splits.items():
        for m in ("audio", "vision"):
            seq = top[name][m]
            true = infer_lengths(seq, left)
            np.testing.assert_array_equal(split.lengths[m], true)
            expected = to_right_padding(seq, true) if left else seq
            np.testing.assert_array_equal(split.sequences[m], expected)
            steps = np.arange(seq.shape[1])[None, :]
            assert not split.sequences[m][steps >= true[:, None]].any()  # padding is zero, at the end
    assert ds.meta["aligned"] is False  # padded lengths differ (6 vs 4)


def test_padding_helpers() -> None:
    seq = np.zeros((2, 4, 1), dtype=np.float32)
    seq[0, 2:] = [[1.0], [2.0]]
    seq[1, 1:] = [[3.0], [4.0], [5.0]]
    assert detect_left_padding(seq, np.array([2, 3]))
    assert detect_left_padding(seq, None)
    out = to_right_padding(seq, np.array([2, 3]))
    assert out[:, :, 0].tolist() == [[1, 2, 0, 0], [3, 4, 5, 0]]
    assert not detect_left_padding(out, np.array([2, 3]))


def test_text_bert_and_mosi_layout(tmp_path: Path) -> None:
    top = make_top()
    ds = load_dataset(write(tmp_path / "a.pkl", top))
    train = ds["train"]
    assert ds.meta["tokenizer"] == "bert-base-uncased" and ds.meta["label_range"] == (-3.0, 3.0)
    assert ds.meta["format"] == "mmsa" and ds.meta["source"] == str(tmp_path / "a.pkl")
    assert train.token_ids is not None and train.token_ids.dtype == np.int64
    np.testing.assert_array_equal(train.token_lengths, top["train"]["text_bert"][:, 1].sum(axis=1))
    assert train.raw_text == [f"TEXT {i}" for i in range(6)]
    assert ds.modalities == ("text", "audio", "vision")


def test_sims_layout(tmp_path: Path) -> None:
    ds = load_dataset(write(tmp_path / "s.pkl", make_top(sims=True)))
    assert ds.meta["label_range"] == (-1.0, 1.0) and ds.meta["tokenizer"] == "bert-base-chinese"
    assert set(ds["test"].unimodal_labels) == {"text", "audio", "vision"}


def test_round_trip_keeps_meta_and_arrays(tmp_path: Path) -> None:
    ds = load_dataset(write(tmp_path / "a.pkl", make_top()))
    ds.meta["generator"] = {"audio_signal": 0.3, "seed": 7}
    save_mmsa_pickle(ds, tmp_path / "b.pkl")
    again = load_dataset(tmp_path / "b.pkl")
    assert again.meta["generator"] == {"audio_signal": 0.3, "seed": 7}
    assert again.meta["source"] == str(tmp_path / "b.pkl")
    for name in SPLIT_SIZES:
        for m in ("audio", "vision"):
            np.testing.assert_array_equal(again[name].sequences[m], ds[name].sequences[m])
            np.testing.assert_array_equal(again[name].lengths[m], ds[name].lengths[m])
        np.testing.assert_array_equal(again[name].token_ids, ds[name].token_ids)
    assert not list(tmp_path.glob(".*tmp"))  # atomic write leaves no temp file


def test_nonfinite_features_are_zeroed_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    top = make_top()
    top["train"]["audio"][1, -1, :] = -np.inf
    top["test"]["vision"][2, -1, 0] = np.nan
    path = write(tmp_path / "a.pkl", top)
    with caplog.at_level(logging.WARNING):
        ds = load_dataset(path)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "replaced 4 non-finite" in warnings[0].getMessage()
    assert ds.meta["nonfinite"] == {"train/audio": 3, "test/vision": 1}
    assert all(np.isfinite(s.sequences[m]).all() for s in ds for m in s.sequences)
    with pytest.raises(DataError, match="4 non-finite"):
        load_dataset(path, strict=True)


def corrupt(top: dict[str, Any], case: str) -> Any:
    if case == "missing split":
        del top["valid"]
    elif case == "missing key":
        del top["train"]["regression_labels"]
    elif case == "first dims disagree":
        top["train"]["audio"] = top["train"]["audio"][:-1]
    elif case == "dims differ between splits":
        top["test"]["vision"] = np.ones((4, 4, 3), dtype=np.float32)
        top["test"]["vision_lengths"] = np.full(4, 4)
    elif case == "negative length":
        top["train"]["audio_lengths"][2] = -1
    elif case == "too long length":
        top["valid"]["vision_lengths"][0] = 9
    elif case == "nan label":
        top["train"]["regression_labels"][0] = np.nan
    elif case == "label out of range":
        top["test"]["regression_labels"][0] = 4.5
    elif case == "empty split":
        top["valid"] = {k: v[:0] for k, v in top["valid"].items()}
    elif case == "duplicate ids":
        top["train"]["id"][1] = top["train"]["id"][0]
    elif case == "not a dict":
        return [1, 2, 3]
    return top


CASES = {
    "missing split": "missing split 'valid'",
    "missing key": "no key 'regression_labels'",
    "first dims disagree": "'audio' has 5 rows but labels has 6",
    "dims differ between splits": "vision has 3 features per frame",
    "negative length": "audio_lengths must lie in",
    "too long length": "vision_lengths must lie in",
    "nan label": "NaN",
    "label out of range": r"outside the label range \[-3, 3\]",
    "empty split": "'valid' is empty",
    "duplicate ids": "duplicate sample ids",
    "not a dict": "expected a dict of splits",
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_a_one_line_data_error(tmp_path: Path, case: str) -> None:
    path = write(tmp_path / "bad.pkl", corrupt(make_top(), case))
    with pytest.raises(DataError, match=CASES[case]) as info:
        load_dataset(path)
    assert "\n" not in str(info.value) and "bad.pkl" in str(info.value)


def test_truncated_pickle(tmp_path: Path) -> None:
    data = pickle.dumps(make_top(), protocol=4)
    path = tmp_path / "cut.pkl"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match="truncated or corrupt"):
        load_dataset(path)


def test_aligned_file_with_bert_features(tmp_path: Path) -> None:
    """Word-aligned files: no length arrays, one padded length; BERT features follow the token mask."""
    top = make_top()
    for raw in top.values():
        n = len(raw["id"])
        mask = raw["text_bert"][:, 1]
        raw["text"] = np.random.default_rng(0).normal(size=(n, 5, 4)).astype(np.float32)  # pads not zero
        for m in ("audio", "vision"):
            del raw[f"{m}_lengths"]
            raw[m] = raw["text"][..., :2] * mask[..., None]  # right-padded at the token lengths
    ds = load_dataset(write(tmp_path / "aligned.pkl", top))
    assert ds.meta["aligned"] is True
    train = ds["train"]
    np.testing.assert_array_equal(train.lengths["text"], train.token_lengths)
    np.testing.assert_array_equal(train.sequences["text"], top["train"]["text"])  # not shifted
    np.testing.assert_array_equal(train.lengths["audio"], train.token_lengths)
