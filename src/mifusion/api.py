"""Thin convenience functions for using mifusion from your own code: data in, batches out, scores.

Each function checks its arguments and raises a ``ConfigError`` or ``ShapeError`` (see
``mifusion.errors``) whose message names the argument and the fix, then calls the
library function that does the work (the same one the command line uses).

Example:
    >>> from mifusion.api import load_data, iterate_batches, score
    >>> data = load_data(like="mosi", n=60, seed=0)          # built-in synthetic data, no file needed
    >>> batch = next(iterate_batches(data["train"], batch_size=8, modalities=("audio", "vision")))
    >>> len(batch), tuple(batch.sequences)
    (8, ('audio', 'vision'))
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mifusion.config import MODALITIES
from mifusion.data.batch import MultimodalBatch, collate
from mifusion.data.dataset import MultimodalDataset, SplitData
from mifusion.errors import ConfigError, ShapeError

if TYPE_CHECKING:
    from mifusion.data.synthetic import SynthParams


def load_data(
    path: str | Path | None = None,
    format: str = "auto",
    *,
    like: str = "mosi",
    n: int | None = None,
    seed: int = 0,
    aligned: bool = False,
    params: SynthParams | None = None,
    strict: bool = False,
    folds: Any = None,
) -> MultimodalDataset:
    """Loads a dataset file into the in-memory dataset model, or generates synthetic data.

    Args:
        path: a .pkl (MMSA pickle), a label.csv, a safe-format directory or a .csd directory/file;
            None generates the built-in synthetic dataset instead.
        format: "auto" (detect from the path) or one of "mmsa", "label_csv", "safe", "csd".
        like: with ``path=None``, which dataset the synthetic data imitates ("mosi", "mosei", "sims").
        n: with ``path=None``, the number of samples (default: the generator's own).
        seed: with ``path=None``, the generator's seed.
        aligned: with ``path=None``, whether all modalities share one length per sample.
        params: with ``path=None``, generator parameters (``mifusion.data.synthetic.SynthParams``),
            e.g. shorter sequences for fast experiments.
        strict: refuse non-finite features instead of replacing them by 0 (with a warning).
        folds: for .csd data only: a dict or file mapping split names to video ids.

    Returns:
        The dataset: ``data["train"]``, ``data["valid"]``, ``data["test"]`` are column-wise splits.

    Example:
        >>> data = load_data(like="mosi", n=60, seed=1)
        >>> sorted(data.splits), data.modalities
        (['test', 'train', 'valid'], ('text', 'audio', 'vision'))
    """
    if path is None:
        from mifusion.data.synthetic import generate

        return generate(like=like, n=n, seed=seed, aligned=aligned, params=params)
    from mifusion.data.io import load_dataset

    return load_dataset(path, format, strict=strict, folds=folds)


def _check_modalities(split: SplitData, modalities: Sequence[str] | None) -> tuple[str, ...]:
    if isinstance(modalities, str):
        raise ConfigError(
            f"iterate_batches: modalities must be a sequence of names, got the string {modalities!r}; "
            f"pass e.g. modalities=({modalities!r},)"
        )
    wanted = tuple(split.modalities if modalities is None else modalities)
    for m in wanted:
        if m not in MODALITIES:
            raise ConfigError(
                f"iterate_batches: unknown modality {m!r} in modalities; use names from {', '.join(MODALITIES)}"
            )
        if m not in split.modalities:
            raise ConfigError(
                f"iterate_batches: split {split.name!r} has no {m!r} (it has "
                f"{', '.join(split.modalities) or 'none'}); drop it from modalities"
            )
    if not wanted:
        raise ConfigError("iterate_batches: modalities is empty; pass at least one modality")
    return tuple(m for m in MODALITIES if m in wanted)


def iterate_batches(
    split: SplitData,
    batch_size: int = 32,
    modalities: Sequence[str] | None = None,
    *,
    shuffle: bool = False,
    seed: int = 0,
    drop_last: bool = False,
) -> Iterator[MultimodalBatch]:
    """Yields padded batches of one split (dynamic padding, masks, lengths, availability).

    Args:
        split: one split of a dataset, e.g. ``data["train"]``.
        batch_size: samples per batch; the last batch may be smaller unless ``drop_last``.
        modalities: which modalities to include (default: all the split has), in any order; batches
            always carry them in the fixed order text, audio, vision.
        shuffle: visit samples in a random order drawn from ``seed`` (same seed, same order).
        seed: the seed of the shuffle.
        drop_last: skip a final batch smaller than ``batch_size``.

    Yields:
        ``MultimodalBatch`` objects on the CPU; move them with ``.to(device)``.

    Example:
        >>> data = load_data(like="mosi", n=60, seed=0)
        >>> sizes = [len(b) for b in iterate_batches(data["train"], batch_size=16, shuffle=True)]
        >>> sum(sizes) == len(data["train"]), max(sizes)
        (True, 16)
        >>> next(iterate_batches(data["train"], modalities=("txt",)))
        Traceback (most recent call last):
            ...
        mifusion.errors.ConfigError: iterate_batches: unknown modality 'txt' in modalities; use names from text, audio, vision
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int | np.integer) or batch_size < 1:
        raise ConfigError(
            f"iterate_batches: batch_size must be a positive integer, got {batch_size!r}; pass e.g. 32"
        )
    wanted = _check_modalities(split, modalities)
    order = np.arange(len(split))
    if shuffle:
        order = np.random.default_rng(seed).permutation(len(split))
    for start in range(0, len(order), int(batch_size)):
        index = order[start : start + int(batch_size)]
        if drop_last and len(index) < batch_size:
            return
        yield collate(split, index, wanted)


def _as_vector(values: Any, argument: str) -> np.ndarray:
    """Any array-like (list, numpy, torch) of N scores -> float64 (N,); (N, 1) is accepted."""
    if hasattr(values, "detach"):
        values = values.detach().cpu().numpy()
    array = np.asarray(values, dtype=np.float64)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1 or array.shape[0] == 0:
        raise ShapeError(
            f"score: {argument} must hold one score per sample, shape (N,) or (N, 1), got shape "
            f"{tuple(array.shape)}; flatten it or pass the regression output"
        )
    if not np.isfinite(array).all():
        raise ShapeError(f"score: {argument} holds NaN or inf; remove those samples before scoring")
    return array


def score(pred: Any, target: Any, kind: str = "mosi") -> dict[str, float]:
    """Computes the community's metrics (MAE, Corr, Acc-2 has0/non0, F1, Acc-5/7 or SIMS classes).

    Args:
        pred: predicted sentiment scores, shape (N,) or (N, 1): a list, numpy array or torch tensor.
        target: the true scores, same shape.
        kind: "mosi" (and MOSEI: labels in [-3, 3]) or "sims" (labels in [-1, 1]).

    Returns:
        Metric name -> value, e.g. ``mae``, ``corr``, ``acc2_has0``, ``acc2_non0``, ``f1_non0``, ``acc7``.

    Example:
        >>> metrics = score([1.0, -2.0, 0.5, -0.4], [1.2, -1.8, 0.0, -1.0])
        >>> round(metrics["mae"], 3), metrics["acc2_has0"], metrics["acc2_non0"]
        (0.375, 100.0, 100.0)
        >>> score([0.1, 0.2], [0.3])
        Traceback (most recent call last):
            ...
        mifusion.errors.ShapeError: score: pred has 2 scores but target has 1; pass one prediction per target
    """
    p = _as_vector(pred, "pred")
    t = _as_vector(target, "target")
    if p.shape != t.shape:
        raise ShapeError(
            f"score: pred has {p.shape[0]} scores but target has {t.shape[0]}; pass one prediction per target"
        )
    from mifusion.metrics import compute_metrics

    return {k: float(v) for k, v in compute_metrics(p, t, kind=kind).items()}
