"""Tables, paired differences and robustness transforms."""

from __future__ import annotations

import torch

from mifusion.evaluation.reports import metrics_table
from mifusion.evaluation.robustness import add_noise, conditions, zero_fill
from mifusion.models.testing import tiny_batch, tiny_spec


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
