"""CMU-SDK computational sequences: reading, SDK-style alignment, labels, folds, malformed HDF5."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mifusion.data.csd import align_to_reference, read_sequence
from mifusion.data.io import load_dataset
from mifusion.errors import DataError

h5py = pytest.importorskip("h5py")


def write_csd(path: Path, name: str, data: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
    with h5py.File(path, "w") as handle:
        root = handle.create_group(name)
        for vid, (features, intervals) in data.items():
            group = root.create_group(f"data/{vid}")
            group["features"] = features
            group["intervals"] = intervals
        root.create_dataset("metadata/root name", data=name)


def make_dir(tmp_path: Path) -> Path:
    """Four videos; words every 1 s, audio every 0.5 s, one label segment per 2 words."""
    rng = np.random.default_rng(0)
    words, audio, labels = {}, {}, {}
    for v, vid in enumerate(["vidA", "vidB", "vidC", "vidD"]):
        word_iv = np.stack([np.arange(4.0), np.arange(4.0) + 1], axis=1)
        words[vid] = (rng.normal(size=(4, 3)), word_iv)
        audio_iv = np.stack([np.arange(8) * 0.5, np.arange(8) * 0.5 + 0.5], axis=1)
        audio[vid] = (rng.normal(size=(8, 2)), audio_iv)
        labels[vid] = (np.array([[v - 1.0], [0.5]]), np.array([[0.0, 2.0], [2.0, 4.0]]))
    write_csd(tmp_path / "glove_vectors.csd", "glove_vectors", words)
    write_csd(tmp_path / "COVAREP.csd", "COVAREP", audio)
    write_csd(tmp_path / "Opinion Segment Labels.csd", "Opinion Segment Labels", labels)
    (tmp_path / "folds.json").write_text(
        json.dumps({"train": ["vidA", "vidB"], "valid": ["vidC"], "test": ["vidD"]})
    )
    return tmp_path


def test_reads_sequence(tmp_path: Path) -> None:
    make_dir(tmp_path)
    seq = read_sequence(tmp_path / "COVAREP.csd")
    assert seq.name == "COVAREP" and seq.data["vidA"][0].shape == (8, 2)
    assert seq.metadata["root name"] == "COVAREP"


def test_alignment_averages_overlapping_frames() -> None:
    features = np.arange(8.0)[:, None]
    intervals = np.stack([np.arange(8) * 0.5, np.arange(8) * 0.5 + 0.5], axis=1)
    out = align_to_reference(features, intervals, np.array([[0.0, 1.0], [0.75, 2.0], [10.0, 11.0]]))
    # frames touching an interval only at its boundary do not count (zero-length intersection)
    assert out.ravel().tolist() == [0.5, (1 + 2 + 3) / 3, 0.0]


def test_unaligned_dataset(tmp_path: Path) -> None:
    ds = load_dataset(make_dir(tmp_path))
    assert ds.meta["format"] == "csd" and not ds.meta["aligned"]
    assert [len(ds[s]) for s in ("train", "valid", "test")] == [4, 2, 2]
    train = ds["train"]
    assert train.ids.tolist() == ["vidA[0]", "vidA[1]", "vidB[0]", "vidB[1]"]
    assert train.labels.tolist() == [-1.0, 0.5, 0.0, 0.5]
    assert train.lengths["audio"].tolist() == [4, 4, 4, 4] and train.lengths["text"].tolist() == [2, 2, 2, 2]
    audio = read_sequence(tmp_path / "COVAREP.csd").data["vidB"][0]
    np.testing.assert_allclose(train.sequences["audio"][3], audio[4:8], rtol=1e-6)


def test_word_aligned_dataset(tmp_path: Path) -> None:
    make_dir(tmp_path)
    config = {"text": "glove_vectors.csd", "audio": "COVAREP.csd", "labels": "Opinion Segment Labels.csd"}
    (tmp_path / "csd.json").write_text(json.dumps({**config, "reference": "text", "folds": "folds.json"}))
    ds = load_dataset(tmp_path)
    assert ds.meta["aligned"]
    audio = read_sequence(tmp_path / "COVAREP.csd").data["vidA"][0]
    split = ds["train"]
    assert split.lengths["audio"].tolist() == split.lengths["text"].tolist() == [2, 2, 2, 2]
    expected = audio.reshape(4, 2, 2).mean(axis=1)  # each 1 s word averages two 0.5 s audio frames
    np.testing.assert_allclose(split.sequences["audio"][:2].reshape(4, 2), expected, rtol=1e-6)


def test_text_folds_file(tmp_path: Path) -> None:
    make_dir(tmp_path)
    (tmp_path / "folds.txt").write_text("train vidA\nvalid vidB\ntest vidC\ntest vidD\n")
    ds = load_dataset(tmp_path, folds=tmp_path / "folds.txt")
    assert [len(ds[s]) for s in ("train", "valid", "test")] == [2, 2, 4]


@pytest.mark.parametrize(
    "damage, message",
    [
        ("not hdf5", "unreadable HDF5"),
        ("truncated", "unreadable HDF5"),
        ("no folds", "no folds"),
        ("empty split", "split 'test' is empty"),
        ("bad intervals", "intervals of shape"),
    ],
)
def test_bad_input(tmp_path: Path, damage: str, message: str) -> None:
    make_dir(tmp_path)
    target = tmp_path / "COVAREP.csd"
    if damage == "not hdf5":
        target.write_text("video,features\n")
    elif damage == "truncated":
        target.write_bytes(target.read_bytes()[:600])
    elif damage == "no folds":
        (tmp_path / "folds.json").unlink()
    elif damage == "empty split":
        (tmp_path / "folds.json").write_text(
            json.dumps({"train": ["vidA"], "valid": ["vidB"], "test": ["nope"]})
        )
    else:
        write_csd(target, "COVAREP", {"vidA": (np.ones((3, 2)), np.ones((2, 2)))})
    with pytest.raises(DataError, match=message) as info:
        load_dataset(tmp_path)
    assert "\n" not in str(info.value)


def test_matches_cmu_sdk_alignment() -> None:
    """mifusion's average-of-overlapping-frames equals the SDK's intersect + average collapse."""
    sdk = pytest.importorskip(
        "mmsdk.mmdatasdk.dataset.dataset", reason="cmu-multimodal-sdk is not installed (optional)"
    )
    rng = np.random.default_rng(1)
    starts = np.sort(rng.uniform(0, 10, 40))
    intervals = np.stack([starts, starts + rng.uniform(0.05, 0.6, 40)], axis=1)
    features = rng.normal(size=(40, 3))
    word_starts = np.arange(0.0, 10.0, 0.7)
    words = np.stack([word_starts, word_starts + 0.7], axis=1)
    ours = align_to_reference(features, intervals, words)
    dataset = object.__new__(sdk.mmdataset)
    intersect = dataset._mmdataset__intersect_and_copy  # the SDK's own (private) alignment step
    for i, ref in enumerate(words):
        _, picked = intersect(ref, {"intervals": intervals, "features": features}, sdk.epsilon)
        expected = np.average(picked, axis=0) if len(picked) else np.zeros(3)  # SDK drops empty ones
        np.testing.assert_allclose(ours[i], expected, rtol=1e-5, atol=1e-6)
