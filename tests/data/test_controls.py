"""Control grounds: what is broken is broken, and nothing else changes."""

from __future__ import annotations

import numpy as np
import pytest

from mifusion.data.controls import permute_labels, shuffle_modalities
from mifusion.data.synthetic import generate
from mifusion.errors import ConfigError


def test_shuffled_modalities_leave_labels_and_other_modalities_intact() -> None:
    ds = generate("mosi", n=120, seed=0)
    out = shuffle_modalities(ds, ("audio", "vision"), seed=3)
    for name in ("train", "valid", "test"):
        a, b = ds[name], out[name]
        assert np.array_equal(a.labels, b.labels) and np.array_equal(a.token_ids, b.token_ids)
        for m in ("audio", "vision"):
            assert not np.array_equal(a.sequences[m], b.sequences[m])
            # the same frames, in another order: each sample's frames move with its length
            key = {a.sequences[m][i].tobytes(): int(a.lengths[m][i]) for i in range(len(a))}
            assert all(key[b.sequences[m][i].tobytes()] == int(b.lengths[m][i]) for i in range(len(b)))
    assert out.meta["control"] == {"shuffled": ["audio", "vision"], "seed": 3}
    with pytest.raises(ConfigError, match="cannot shuffle"):
        shuffle_modalities(ds, ("smell",), 1)


def test_shuffled_text_moves_token_ids_and_lengths_together() -> None:
    ds = generate("mosi", n=90, seed=1)
    out = shuffle_modalities(ds, ("text",), seed=0)
    a, b = ds["train"], out["train"]
    pairs = {a.token_ids[i].tobytes(): int(a.token_lengths[i]) for i in range(len(a))}
    assert all(pairs[b.token_ids[i].tobytes()] == int(b.token_lengths[i]) for i in range(len(b)))
    assert np.array_equal(a.sequences["audio"], b.sequences["audio"])


def test_permuted_labels_break_train_and_valid_only() -> None:
    ds = generate("mosi", n=150, seed=2)
    out = permute_labels(ds, seed=0)
    for name in ("train", "valid"):
        assert sorted(out[name].labels) == sorted(ds[name].labels)
        assert not np.array_equal(out[name].labels, ds[name].labels)
        assert np.array_equal(out[name].sequences["audio"], ds[name].sequences["audio"])
    assert np.array_equal(out["test"].labels, ds["test"].labels)
