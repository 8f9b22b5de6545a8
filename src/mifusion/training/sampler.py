"""Seeded batch samplers: plain random, and length bucketing that keeps batches shuffled across buckets.

Batches of an epoch are a pure function of ``(seed, epoch)``, so resuming mid-epoch is skipping the
batches already done. With lengths, the first epoch starts with its costliest batch (the longest
texts), so a batch size whose activations do not fit fails at once rather than minutes into training.
The run's peak still comes later: step 1 runs before the optimiser's moments, the gradients held
between steps and the allocator's warmed heap exist (about 280 MB less for MMIM with MiniLM-L6 at
batch 32; docs/performance.md, "Memory over epochs").

Example:
    >>> import numpy as np
    >>> lengths = np.array([3, 50, 4, 48, 5, 47, 2, 49])
    >>> sampler = BatchSampler(8, batch_size=2, seed=0, lengths=lengths)
    >>> batches = sampler.batches(epoch=0)
    >>> sorted(int(i) for b in batches for i in b) == list(range(8))
    True
    >>> [int(np.ptp(lengths[b])) <= 3 for b in batches]
    [True, True, True, True]
    >>> [b.tolist() for b in batches] == [b.tolist() for b in sampler.batches(epoch=0)]
    True
    >>> sorted(int(i) for i in batches[0])  # epoch 0 starts with the longest texts
    [1, 7]
"""

from __future__ import annotations

import numpy as np

BUCKET_BATCHES = 50
"""Samples are sorted by length within windows of this many batches (a window is a bucket pool)."""


class BatchSampler:
    """Yields index arrays for each epoch.

    Args:
        size: number of samples N.
        batch_size: samples per batch (the last batch of the epoch may be smaller).
        seed: base seed; epoch ``e`` uses ``seed + e`` mixed into a numpy ``SeedSequence``.
        lengths: (N,) per-sample cost (e.g. token count); given -> length bucketing, None -> random.
        bucket_batches: window size, in batches, within which samples are sorted by length.
        longest_first: with lengths, epoch 0 starts with the batch whose longest sample is longest
            (peak memory at step 1); the other batches keep their shuffled order.
    """

    def __init__(
        self,
        size: int,
        batch_size: int,
        seed: int,
        lengths: np.ndarray | None = None,
        bucket_batches: int = BUCKET_BATCHES,
        longest_first: bool = True,
    ) -> None:
        self.size = size
        self.batch_size = batch_size
        self.seed = seed
        self.lengths = None if lengths is None else np.asarray(lengths)
        self.bucket_batches = bucket_batches
        self.longest_first = longest_first

    def __len__(self) -> int:
        return -(-self.size // self.batch_size)

    def batches(self, epoch: int) -> list[np.ndarray]:
        """The epoch's batches, in order: a list of (b,) int64 index arrays."""
        rng = np.random.default_rng([self.seed, epoch])
        order = rng.permutation(self.size)
        if self.lengths is None:
            return [order[i : i + self.batch_size] for i in range(0, self.size, self.batch_size)]
        window = self.batch_size * self.bucket_batches
        batches: list[np.ndarray] = []
        for start in range(0, self.size, window):
            chunk = order[start : start + window]
            chunk = chunk[np.argsort(self.lengths[chunk], kind="stable")]  # random ties: order is shuffled
            batches.extend(chunk[i : i + self.batch_size] for i in range(0, len(chunk), self.batch_size))
        batches = [batches[i] for i in rng.permutation(len(batches))]
        if self.longest_first and epoch == 0 and batches:
            costliest = int(np.argmax([self.lengths[b].max() for b in batches]))  # first of any ties
            batches.insert(0, batches.pop(costliest))
        return batches


def padded_tokens(batches: list[np.ndarray], lengths: np.ndarray) -> int:
    """Total padded positions when each batch is padded to its longest sample (for reporting)."""
    return int(sum(len(b) * int(lengths[b].max(initial=0)) for b in batches))
