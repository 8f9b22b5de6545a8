"""Iterates batches of a split (collation in the main process; no DataLoader workers needed)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import torch

from mifusion.data.batch import MultimodalBatch, collate
from mifusion.data.dataset import SplitData


def sample_lengths(split: SplitData, modalities: Sequence[str]) -> np.ndarray:
    """(N,) per-sample padded cost used for bucketing: token count, else the longest sequence."""
    if "text" in modalities and split.token_lengths is not None:
        return np.asarray(split.token_lengths)
    cols = [np.asarray(split.lengths[m]) for m in modalities if m in split.lengths]
    return np.max(np.stack(cols), axis=0) if cols else np.zeros(len(split), dtype=np.int64)


def iterate(
    split: SplitData,
    batches: Sequence[np.ndarray],
    modalities: Sequence[str],
    device: torch.device | str = "cpu",
) -> Iterator[MultimodalBatch]:
    """Yields the collated batches ``batches`` of ``split`` on ``device``."""
    for index in batches:
        batch = collate(split, index, modalities)
        yield batch if str(device) == "cpu" else batch.to(device, non_blocking=True)


def sequential(split: SplitData, batch_size: int) -> list[np.ndarray]:
    """Batches in dataset order (evaluation), sorted by nothing so outputs align with ids."""
    return [np.arange(i, min(i + batch_size, len(split))) for i in range(0, len(split), batch_size)]
