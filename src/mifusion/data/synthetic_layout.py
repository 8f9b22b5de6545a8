"""What the synthetic generator copies from the real datasets: shapes, folds and label distributions."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from mifusion.errors import ConfigError


class LikeSpec(NamedTuple):
    """Shapes and sizes that ``like`` copies from a real dataset."""

    audio_dim: int
    vision_dim: int
    max_lengths: dict[str, int]  # the real unaligned files' padded lengths
    split_sizes: tuple[int, int, int]  # the standard train/valid/test sizes
    default_n: int
    label_range: float


LIKES: dict[str, LikeSpec] = {
    "mosi": LikeSpec(5, 20, {"text": 50, "audio": 375, "vision": 500}, (1284, 229, 686), 2199, 3.0),
    "mosei": LikeSpec(74, 35, {"text": 50, "audio": 500, "vision": 500}, (16326, 1871, 4659), 3000, 3.0),
    "sims": LikeSpec(33, 709, {"text": 39, "audio": 400, "vision": 55}, (1368, 456, 457), 2281, 1.0),
}


def sample_labels(rng: np.random.Generator, n: int, label_range: float) -> np.ndarray:
    """(N,) float32 labels from a negative / neutral / positive mixture, on the annotation grid."""
    component = rng.choice(3, size=n, p=[0.45, 0.1, 0.45])  # negative, neutral, positive
    centers, spreads = np.array([-1.3, 0.0, 1.3]), np.array([0.9, 0.3, 0.9])
    s = np.clip(rng.normal(centers[component], spreads[component]), -3.0, 3.0)
    if label_range == 1.0:  # SIMS: [-1, 1] on a 0.2 grid
        return (np.round(s / 3.0 * 5.0) / 5.0).astype(np.float32)
    return (np.round(s * 6.0) / 6.0).astype(np.float32)


def split_sizes(n: int, sizes: tuple[int, int, int]) -> list[int]:
    """Train / valid / test sizes for ``n`` samples in the proportions of the real folds ``sizes``."""
    if n < 3:
        raise ConfigError(f"synthetic n={n} too small; every split needs a sample, use n >= 3")
    total = sum(sizes)
    train = max(1, round(n * sizes[0] / total))
    valid = max(1, round(n * sizes[1] / total))
    return [train, valid, n - train - valid]
