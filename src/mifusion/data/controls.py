"""Control grounds for the claim studies: the same data with a link deliberately broken.

* :func:`shuffle_modalities` permutes some modalities across the samples of each split, so they no longer
  belong to the sample's label or to its other modalities (a model that uses only the untouched
  modalities must score the same);
* :func:`permute_labels` permutes the labels of the training and validation splits, so nothing can be
  learnt (a model must score the constant floor on the intact test split).

Example:
    >>> from mifusion.data.synthetic import generate
    >>> ds = generate("mosi", n=60, seed=0)
    >>> out = shuffle_modalities(ds, ("audio",), seed=1)
    >>> bool((out["train"].labels == ds["train"].labels).all())
    True
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from mifusion.data.dataset import MultimodalDataset, SplitData
from mifusion.errors import ConfigError


def _shuffle_split(split: SplitData, modalities: Sequence[str], rng: np.random.Generator) -> SplitData:
    sequences, lengths = dict(split.sequences), dict(split.lengths)
    changes: dict[str, object] = {}
    for m in modalities:
        order = rng.permutation(len(split))
        if m in sequences:
            sequences[m] = sequences[m][order]
            lengths[m] = lengths[m][order]
        if m == "text":
            if split.token_ids is not None:
                changes["token_ids"] = split.token_ids[order]
                changes["token_lengths"] = None if split.token_lengths is None else split.token_lengths[order]
            if split.raw_text is not None:
                changes["raw_text"] = [split.raw_text[i] for i in order]
    return dataclasses.replace(split, sequences=sequences, lengths=lengths, **changes)  # type: ignore[arg-type]


def shuffle_modalities(dataset: MultimodalDataset, modalities: Sequence[str], seed: int) -> MultimodalDataset:
    """Each named modality permuted across samples, independently per split and per modality.

    Raises:
        ConfigError: a modality the dataset does not have.
    """
    missing = [m for m in modalities if m not in dataset.modalities]
    if missing:
        raise ConfigError(f"cannot shuffle {missing}: the data has {list(dataset.modalities)}")
    rng = np.random.default_rng(seed)
    splits = {name: _shuffle_split(split, modalities, rng) for name, split in dataset.splits.items()}
    meta = {**dataset.meta, "control": {"shuffled": list(modalities), "seed": seed}}
    return MultimodalDataset(splits, meta)


def permute_labels(
    dataset: MultimodalDataset, seed: int, splits: Sequence[str] = ("train", "valid")
) -> MultimodalDataset:
    """The labels of ``splits`` permuted across samples (unimodal labels with them); the rest intact."""
    rng = np.random.default_rng(seed)
    out = dict(dataset.splits)
    for name in splits:
        split = dataset[name]
        order = rng.permutation(len(split))
        unimodal = {m: v[order] for m, v in split.unimodal_labels.items()}
        out[name] = dataclasses.replace(split, labels=split.labels[order], unimodal_labels=unimodal)
    meta = {**dataset.meta, "control": {"permuted_labels": list(splits), "seed": seed}}
    return MultimodalDataset(out, meta)
