"""Feature statistics: training split only, valid frames only, padding stays 0, JSON round trip."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mifusion.data.dataset import MultimodalDataset, SplitData, lengths_to_mask
from mifusion.data.statistics import FeatureStats
from mifusion.errors import DataError


def split(name: str, n: int, shift: float, seed: int) -> SplitData:
    rng = np.random.default_rng(seed)
    lengths = rng.integers(0, 7, n)
    mask = lengths_to_mask(lengths, 7)[..., None]
    seq = np.where(mask, rng.normal(shift, 2.0, (n, 7, 3)), 0.0).astype(np.float32)
    return SplitData(
        name,
        np.asarray([f"{name}{i}" for i in range(n)]),
        np.zeros(n, np.float32),
        sequences={"audio": seq},
        lengths={"audio": lengths},
    )


def test_fit_on_valid_frames_of_train_only() -> None:
    train = split("train", 2000, 5.0, 0)
    stats = FeatureStats().fit(train)
    frames = train.sequences["audio"][lengths_to_mask(train.lengths["audio"], 7)]
    np.testing.assert_allclose(stats.mean["audio"], frames.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(stats.std["audio"], frames.std(axis=0), rtol=1e-4)
    assert abs(float(stats.mean["audio"].mean()) - 5.0) < 0.1  # zeros of the padding are not counted


def test_apply_standardises_and_keeps_padding_zero() -> None:
    ds = MultimodalDataset({"train": split("train", 500, 5.0, 0), "test": split("test", 100, -3.0, 1)})
    stats = FeatureStats().fit(ds["train"])
    out = stats.apply(ds)
    for s in out:
        mask = lengths_to_mask(s.lengths["audio"], 7)
        assert not s.sequences["audio"][~mask].any()
    train_frames = out["train"].sequences["audio"][lengths_to_mask(out["train"].lengths["audio"], 7)]
    np.testing.assert_allclose(train_frames.mean(axis=0), 0.0, atol=1e-4)
    np.testing.assert_allclose(train_frames.std(axis=0), 1.0, atol=1e-3)
    assert out["test"].sequences["audio"].mean() < 0  # test uses train's statistics, not its own
    assert ds["train"].sequences["audio"].max() > 3  # the input is not modified


def test_json_round_trip_and_constant_feature() -> None:
    train = split("train", 50, 1.0, 2)
    train.sequences["audio"][..., 2] = 0.0
    stats = FeatureStats().fit(train)
    assert stats.std["audio"][2] == 1.0
    again = FeatureStats.from_dict(json.loads(json.dumps(stats.to_dict())))
    np.testing.assert_array_equal(again.mean["audio"], stats.mean["audio"])
    np.testing.assert_array_equal(again.std["audio"], stats.std["audio"])
    with pytest.raises(DataError, match="mean"):
        FeatureStats.from_dict({"audio": [1, 2]})


def test_dimension_mismatch() -> None:
    stats = FeatureStats().fit(split("train", 20, 0.0, 3))
    other = split("test", 5, 0.0, 4)
    other.sequences["audio"] = other.sequences["audio"][..., :2]
    with pytest.raises(DataError, match="fitted on 3"):
        stats.apply_split(other)
