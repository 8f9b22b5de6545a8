"""The convenience functions of mifusion.api: batches cover a split exactly once, errors name the argument."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mifusion.api import iterate_batches, load_data, score
from mifusion.errors import ConfigError, ShapeError
from mifusion.metrics import compute_metrics


@pytest.fixture(scope="module")
def data():  # type: ignore[no-untyped-def]
    return load_data(like="mosi", n=80, seed=3)


def test_batches_cover_the_split_once_in_a_seeded_order(data) -> None:  # type: ignore[no-untyped-def]
    split = data["train"]
    first = [i for b in iterate_batches(split, batch_size=7, shuffle=True, seed=1) for i in b.ids]
    again = [i for b in iterate_batches(split, batch_size=7, shuffle=True, seed=1) for i in b.ids]
    other = [i for b in iterate_batches(split, batch_size=7, shuffle=True, seed=2) for i in b.ids]
    assert sorted(first) == sorted(split.ids.tolist()) and len(first) == len(split)
    assert first == again and first != other
    plain = [i for b in iterate_batches(split, batch_size=7) for i in b.ids]
    assert plain == split.ids.tolist()


def test_drop_last_and_modalities_in_fixed_order(data) -> None:  # type: ignore[no-untyped-def]
    split = data["train"]
    sizes = [len(b) for b in iterate_batches(split, batch_size=7, drop_last=True)]
    assert sizes == [7] * (len(split) // 7)
    batch = next(iterate_batches(split, batch_size=4, modalities=["vision", "audio"]))
    assert tuple(batch.present) == ("audio", "vision") and batch.token_ids is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"batch_size": 0}, "batch_size must be a positive integer"),
        ({"batch_size": 2.5}, "batch_size must be a positive integer"),
        ({"modalities": "audio"}, r"modalities=\('audio',\)"),
        ({"modalities": ("speech",)}, "unknown modality 'speech' in modalities"),
        ({"modalities": ()}, "modalities is empty"),
    ],
)
def test_iterate_batches_errors_name_the_argument(data, kwargs, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match=message):
        next(iterate_batches(data["train"], **kwargs))


def test_missing_modality_names_the_split(data) -> None:  # type: ignore[no-untyped-def]
    split = data["train"].subset(np.arange(5))
    del split.sequences["vision"], split.lengths["vision"]
    with pytest.raises(ConfigError, match="split 'train' has no 'vision'"):
        next(iterate_batches(split, modalities=("audio", "vision")))


def test_score_matches_compute_metrics_for_any_array_type() -> None:
    rng = np.random.default_rng(0)
    target = np.round(rng.uniform(-3, 3, 50) * 3) / 3
    pred = target + rng.normal(0, 0.5, 50)
    expected = compute_metrics(pred, target)
    for p in (pred, pred.tolist(), torch.tensor(pred).reshape(-1, 1), torch.tensor(pred, requires_grad=True)):
        assert score(p, target) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("pred", "target", "message"),
    [
        (np.zeros((4, 2)), np.zeros(4), r"pred must hold one score per sample.*\(4, 2\)"),
        (np.zeros(4), np.zeros(3), "pred has 4 scores but target has 3"),
        (np.array([0.0, np.nan]), np.zeros(2), "pred holds NaN"),
        (np.zeros(2), np.array([]), "target must hold one score per sample"),
    ],
)
def test_score_shape_errors(pred, target, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ShapeError, match=message):
        score(pred, target)
