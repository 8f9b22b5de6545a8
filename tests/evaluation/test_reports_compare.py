"""Tables, paired differences and robustness transforms."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mifusion.evaluation.compare import paired_difference
from mifusion.evaluation.reports import metrics_table
from mifusion.evaluation.robustness import add_noise, conditions, zero_fill
from mifusion.models.testing import tiny_batch, tiny_spec


def test_paired_difference_matches_a_t_interval() -> None:
    from scipy import stats

    run, base = {1: 1.0, 2: 1.5, 3: 0.7, 4: 1.1}, {1: 0.9, 2: 1.2, 3: 0.8, 4: 1.0}
    diffs = np.array([0.1, 0.3, -0.1, 0.1])
    low, high = stats.t.interval(0.95, 3, loc=diffs.mean(), scale=stats.sem(diffs))
    result = paired_difference(run, base)
    assert (result.mean, result.low, result.high, result.pairs) == pytest.approx((0.1, low, high, 4))
    assert paired_difference({1: 1.0, 9: 2.0}, {1: 0.5}).pairs == 1


def test_table_pairs_has0_and_non0() -> None:
    table = metrics_table([("a", {"mae": {"mean": 0.7, "std": 0.01}, "acc2_has0": 80.0, "acc2_non0": 82.0})])
    assert "acc2 has0/non0" in table and "0.700 ± 0.010" in table and "80.00 / 82.00" in table


def test_robustness_conditions_and_transforms() -> None:
    spec = tiny_spec()
    batch = tiny_batch(spec, 4)
    names = [(c.name, c.kind) for c in conditions(spec.modalities)]
    assert ("intact", "intact") in names and ("-text-audio", "zeroed") in names
    assert ("-text-audio-vision", "masked") not in names
    zeroed = zero_fill(batch, ["audio", "text"])
    assert not zeroed.sequences["audio"].any() and not zeroed.token_ids.any()
    assert torch.equal(zeroed.masks["audio"], batch.masks["audio"]) and batch.sequences["audio"].any()
    noisy = add_noise(batch, 1.0, torch.Generator().manual_seed(0))
    pad = ~batch.masks["audio"]
    assert torch.equal(noisy.sequences["audio"][pad], batch.sequences["audio"][pad])
    assert not torch.equal(noisy.sequences["audio"], batch.sequences["audio"])
