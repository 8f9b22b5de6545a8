"""What the synthetic generator copies from the real datasets: shapes, folds and label distributions."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, NamedTuple

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


def generator_meta(
    like: str,
    aligned: bool,
    seed: int,
    n: int,
    text_from: str | Path | None,
    params: Any,
    max_lengths: dict[str, int],
    dims: dict[str, int],
    weights: dict[str, float],
    shared_weight: float,
) -> dict[str, Any]:
    """The dataset's ``meta``: format, source, label range, tokenizer and every generator setting used."""
    spec = LIKES[like]
    fields = dataclasses.asdict(params)
    fields["max_lengths"] = dict(max_lengths)
    signal = dict(weights) if text_from is not None else {"text": params.text_signal, **weights}
    generator = {
        **fields,
        "seed": seed,
        "like": like,
        "aligned": aligned,
        "n": n,
        "mode": "semi-synthetic" if text_from is not None else "synthetic",
        "text_from": None if text_from is None else str(text_from),
        "dims": dims,
        "signal": signal,
        "shared_strength_used": shared_weight,
        "shared_factor": "hashed bag-of-words of the transcript" if text_from is not None else "N(0, I)",
    }
    return {
        "format": "synthetic",
        "source": "synthetic" if text_from is None else f"semi-synthetic:{text_from}",
        "like": like,
        "aligned": aligned,
        "label_range": [-spec.label_range, spec.label_range],
        "vocab_size": None if text_from is not None else params.vocab_size,
        "tokenizer": None if text_from is not None else "mifusion-synthetic",
        "generator": generator,
    }
