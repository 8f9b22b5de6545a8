"""Data preparation from a config: modality selection, train-only statistics, DataSpec."""

from __future__ import annotations

import numpy as np
import pytest
from tiny_training_model import tiny_dataset

from mifusion.config import ExperimentConfig, from_dict
from mifusion.errors import DataError
from mifusion.experiments.pipeline import prepare


def test_prepare_selects_modalities_and_fits_stats_on_train_only() -> None:
    raw = tiny_dataset()
    cfg = from_dict(ExperimentConfig, {"data": {"modalities": ["text", "audio"]}})
    data = prepare(raw, cfg)
    assert data.spec.modalities == ("text", "audio")
    assert set(data.dataset["test"].sequences) == {"audio"}
    train = data.dataset["train"]
    mask = np.arange(5)[None] < train.lengths["audio"][:, None]
    frames = train.sequences["audio"][mask]
    assert np.allclose(frames.mean(0), 0, atol=1e-5) and np.allclose(frames.std(0), 1, atol=1e-4)
    again = prepare(raw, cfg, stats=data.stats)
    assert np.array_equal(again.dataset["test"].sequences["audio"], data.dataset["test"].sequences["audio"])


def test_prepare_rejects_missing_modality() -> None:
    raw = tiny_dataset()
    for split in raw:
        split.sequences.pop("vision")
        split.lengths.pop("vision")
    with pytest.raises(DataError, match="vision"):
        prepare(raw, from_dict(ExperimentConfig, {}))
