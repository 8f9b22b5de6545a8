"""mifusion's safe format: round trip, memory-mapping, no pickles, bad directories."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mifusion.data.dataset import MultimodalDataset, SplitData
from mifusion.data.io import load_dataset, save_safe
from mifusion.errors import DataError


def dataset(n: int = 4) -> MultimodalDataset:
    rng = np.random.default_rng(0)
    splits = {}
    for name in ("train", "valid", "test"):
        lengths = rng.integers(0, 5, n)
        seq = rng.normal(size=(n, 5, 3)).astype(np.float32) * (
            np.arange(5)[None, :, None] < lengths[:, None, None]
        )
        splits[name] = SplitData(
            name=name,
            ids=np.asarray([f"{name}{i}" for i in range(n)]),
            labels=rng.uniform(-3, 3, n).astype(np.float32),
            sequences={"audio": seq},
            lengths={"audio": lengths},
            token_ids=rng.integers(0, 9, (n, 4)),
            token_lengths=np.full(n, 4),
            raw_text=[f"t {i}" for i in range(n)],
            unimodal_labels={"audio": np.zeros(n, np.float32)},
        )
    return MultimodalDataset(splits, meta={"generator": {"seed": 3}, "tokenizer": "tiny", "aligned": False})


def test_round_trip_is_memory_mapped(tmp_path: Path) -> None:
    original = dataset()
    save_safe(original, tmp_path / "ds")
    ds = load_dataset(tmp_path / "ds")
    assert (
        ds.meta["format"] == "safe" and ds.meta["generator"] == {"seed": 3} and ds.meta["tokenizer"] == "tiny"
    )
    for name, split in original.splits.items():
        got = ds[name]
        assert isinstance(got.sequences["audio"], np.memmap) and not got.sequences["audio"].flags.writeable
        np.testing.assert_array_equal(got.sequences["audio"], split.sequences["audio"])
        np.testing.assert_array_equal(got.token_ids, split.token_ids)
        assert got.raw_text == split.raw_text and got.ids.tolist() == split.ids.tolist()
        np.testing.assert_array_equal(got.unimodal_labels["audio"], split.unimodal_labels["audio"])
    assert load_dataset(tmp_path / "ds" / "manifest.json").meta["format"] == "safe"


def test_overwrite_existing_and_refuse_foreign_directory(tmp_path: Path) -> None:
    save_safe(dataset(4), tmp_path / "ds")
    save_safe(dataset(2), tmp_path / "ds")
    assert len(load_dataset(tmp_path / "ds")["train"]) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]  # no temp or backup directory left
    (tmp_path / "other").mkdir()
    with pytest.raises(DataError, match="not a mifusion safe-format directory"):
        save_safe(dataset(), tmp_path / "other")


def test_object_array_is_refused(tmp_path: Path) -> None:
    save_safe(dataset(), tmp_path / "ds")
    np.save(tmp_path / "ds" / "train" / "ids.npy", np.asarray(["a", "b", "c", "d"], dtype=object))
    with pytest.raises(DataError, match=r"split 'train', array 'ids'.*unsafe"):
        load_dataset(tmp_path / "ds")


def test_truncated_array(tmp_path: Path) -> None:
    save_safe(dataset(), tmp_path / "ds")
    target = tmp_path / "ds" / "valid" / "sequences.audio.npy"
    target.write_bytes(target.read_bytes()[:-40])
    with pytest.raises(DataError, match="truncated"):
        load_dataset(tmp_path / "ds")


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda m: "{not json", "malformed JSON"),
        (lambda m: json.dumps({**m, "format": "other"}), "not a mifusion-safe manifest"),
        (lambda m: json.dumps({**m, "splits": {}}), "lists no splits"),
        (
            lambda m: json.dumps(
                {
                    **m,
                    "splits": {
                        **m["splits"],
                        "test": {
                            **m["splits"]["test"],
                            "arrays": {**m["splits"]["test"]["arrays"], "ids": {"file": "../../etc/passwd"}},
                        },
                    },
                }
            ),
            "outside the dataset directory",
        ),
    ],
)
def test_bad_manifest(tmp_path: Path, edit: object, message: str) -> None:
    save_safe(dataset(), tmp_path / "ds")
    manifest = tmp_path / "ds" / "manifest.json"
    manifest.write_text(edit(json.loads(manifest.read_text())))  # type: ignore[operator]
    with pytest.raises(DataError, match=message):
        load_dataset(tmp_path / "ds")


def test_nonfinite_recorded_at_write(tmp_path: Path) -> None:
    ds = dataset()
    ds["train"].sequences["audio"][0, 0, 0] = np.inf
    save_safe(ds, tmp_path / "ds")
    loaded = load_dataset(tmp_path / "ds")
    assert loaded.meta["nonfinite"] == {"train/audio": 1}
    assert np.isfinite(loaded["train"].sequences["audio"]).all()
