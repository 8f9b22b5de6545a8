"""The seeded length-bucketing sampler."""

from __future__ import annotations

import numpy as np

from mifusion.training.sampler import BatchSampler, padded_tokens


def test_bucketing_is_a_seeded_permutation_with_fewer_padded_tokens() -> None:
    rng = np.random.default_rng(0)
    lengths = rng.integers(2, 51, 1284)
    bucketed = BatchSampler(1284, 32, seed=1, lengths=lengths)
    plain = BatchSampler(1284, 32, seed=1)
    for sampler in (bucketed, plain):
        batches = sampler.batches(0)
        assert sorted(np.concatenate(batches).tolist()) == list(range(1284))
        assert len(batches) == len(sampler) == 41
    # uniform lengths: random batches pad to ~50 everywhere; bucketed ones pay close to the true lengths
    assert padded_tokens(plain.batches(0), lengths) > 0.95 * 1284 * 50
    assert padded_tokens(bucketed.batches(0), lengths) < 1.05 * lengths.sum()


def test_batches_are_shuffled_across_buckets_and_differ_per_epoch() -> None:
    lengths = np.arange(640)
    sampler = BatchSampler(640, 32, seed=3, lengths=lengths)
    first = [int(lengths[b].mean()) for b in sampler.batches(0)]
    assert first != sorted(first) and first != sorted(first, reverse=True)
    assert [b.tolist() for b in sampler.batches(0)] == [
        b.tolist() for b in BatchSampler(640, 32, 3, lengths).batches(0)
    ]
    assert [b.tolist() for b in sampler.batches(0)] != [b.tolist() for b in sampler.batches(1)]


def test_first_epoch_starts_with_the_longest_batch_and_stays_seeded() -> None:
    lengths = np.random.default_rng(5).integers(2, 51, 1284)
    sampler = BatchSampler(1284, 32, seed=7, lengths=lengths)
    first = sampler.batches(0)
    widths = [int(lengths[b].max()) for b in first]
    assert widths[0] == max(widths) == 50
    assert sorted(np.concatenate(first).tolist()) == list(range(1284))
    again = BatchSampler(1284, 32, seed=7, lengths=lengths).batches(0)
    assert [b.tolist() for b in first] == [b.tolist() for b in again]
    # only the costliest batch moved: the rest keep the order of the plain shuffled sampler
    plain = BatchSampler(1284, 32, seed=7, lengths=lengths, longest_first=False).batches(0)
    assert [b.tolist() for b in first[1:]] == [b.tolist() for b in plain if b.tolist() != first[0].tolist()]
    # later epochs are left alone, and the order differs with the seed
    assert [b.tolist() for b in sampler.batches(1)] == [
        b.tolist() for b in BatchSampler(1284, 32, 7, lengths, longest_first=False).batches(1)
    ]
    other = BatchSampler(1284, 32, seed=8, lengths=lengths).batches(0)
    assert [b.tolist() for b in first[1:]] != [b.tolist() for b in other[1:]]
