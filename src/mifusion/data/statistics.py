"""Per-feature standardisation statistics, fitted on the training split only.

Only valid frames (within ``lengths``) count; padding stays 0 after :meth:`FeatureStats.apply`.
:meth:`FeatureStats.to_dict` / :meth:`FeatureStats.from_dict` make them JSON so a run saves them and
evaluation and prediction reapply the same transform.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from mifusion.data.dataset import MultimodalDataset, SplitData, lengths_to_mask
from mifusion.errors import DataError

MIN_STD = 1e-6  # features whose std is below this are only centred (divided by 1)
CHUNK_ROWS = 1024  # samples processed at once (bounded memory on memory-mapped data)


@dataclass
class FeatureStats:
    """Per-modality feature mean and std.

    Example:
        >>> import numpy as np
        >>> seq = np.array([[[1.0], [3.0]], [[5.0], [0.0]]], dtype=np.float32)
        >>> s = SplitData("train", np.array(["a", "b"]), np.zeros(2, np.float32),
        ...               sequences={"audio": seq}, lengths={"audio": np.array([2, 1])})
        >>> stats = FeatureStats().fit(s)
        >>> float(stats.mean["audio"][0]), round(float(stats.std["audio"][0]), 4)
        (3.0, 1.633)
    """

    mean: dict[str, np.ndarray] = field(default_factory=dict)  # m -> (D,)
    std: dict[str, np.ndarray] = field(default_factory=dict)  # m -> (D,)

    def fit(self, split: SplitData) -> FeatureStats:
        """Computes the statistics over the valid frames of ``split`` (the training split)."""
        for m, seq in split.sequences.items():
            total = np.zeros(seq.shape[-1], dtype=np.float64)
            squares = np.zeros(seq.shape[-1], dtype=np.float64)
            count = 0
            for start in range(0, len(seq), CHUNK_ROWS):
                chunk = np.asarray(seq[start : start + CHUNK_ROWS], dtype=np.float64)  # (n, T, D)
                mask = lengths_to_mask(split.lengths[m][start : start + CHUNK_ROWS], seq.shape[1])
                frames = chunk[mask]  # (frames, D)
                total += frames.sum(axis=0)
                squares += (frames**2).sum(axis=0)
                count += len(frames)
            if count == 0:
                raise DataError(
                    f"split {split.name!r}: {m} has no valid frames; cannot fit feature statistics"
                )
            mean = total / count
            std = np.sqrt(np.maximum(squares / count - mean**2, 0.0))
            self.mean[m] = mean.astype(np.float32)
            self.std[m] = np.where(std < MIN_STD, 1.0, std).astype(np.float32)
        return self

    def apply_split(self, split: SplitData) -> SplitData:
        """A copy of ``split`` with every fitted modality standardised (padding stays 0)."""
        sequences = dict(split.sequences)
        for m, mean in self.mean.items():
            if m not in sequences:
                continue
            seq = sequences[m]
            if seq.shape[-1] != mean.shape[0]:
                raise DataError(
                    f"split {split.name!r}: {m} has {seq.shape[-1]} features per frame but the statistics "
                    f"were fitted on {mean.shape[0]}; refit them on this data"
                )
            mask = lengths_to_mask(split.lengths[m], seq.shape[1])[..., None]  # (N, T, 1)
            sequences[m] = np.where(mask, (np.asarray(seq) - mean) / self.std[m], 0.0).astype(np.float32)
        return replace(split, sequences=sequences)

    def apply(self, dataset: MultimodalDataset) -> MultimodalDataset:
        """A new dataset with every split standardised by these statistics."""
        splits = {name: self.apply_split(split) for name, split in dataset.splits.items()}
        return MultimodalDataset(splits=splits, meta={**dataset.meta, "standardised": True})

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form: ``{modality: {"mean": [...], "std": [...]}}``."""
        return {m: {"mean": self.mean[m].tolist(), "std": self.std[m].tolist()} for m in self.mean}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureStats:
        """Inverse of :meth:`to_dict`."""
        try:
            return cls(
                mean={m: np.asarray(v["mean"], dtype=np.float32) for m, v in data.items()},
                std={m: np.asarray(v["std"], dtype=np.float32) for m, v in data.items()},
            )
        except (KeyError, TypeError, AttributeError):
            raise DataError("feature statistics must map modality -> {'mean': [...], 'std': [...]}") from None
