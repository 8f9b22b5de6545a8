"""From an ExperimentConfig to model-ready data: load or generate, select modalities, tokenise,
standardise with training-split statistics, and derive the DataSpec."""

from __future__ import annotations

import dataclasses
from typing import Any

from mifusion.config import ExperimentConfig
from mifusion.data.dataset import MultimodalDataset, SplitData
from mifusion.data.prepared import PreparedData
from mifusion.data.spec import data_spec


def load_raw(cfg: ExperimentConfig) -> MultimodalDataset:
    """Reads ``data.path`` or generates the built-in synthetic dataset when it is empty."""
    if cfg.data.path:
        from mifusion.data.io import load_dataset

        folds = None if cfg.data.folds is None else cfg.data.folds
        return load_dataset(cfg.data.path, cfg.data.format, strict=cfg.data.strict, folds=folds)
    from mifusion.data.synthetic import generate

    synth = cfg.data.synth
    return generate(like=synth.like, n=synth.n, seed=synth.seed, aligned=synth.aligned)


def select_modalities(dataset: MultimodalDataset, modalities: tuple[str, ...]) -> MultimodalDataset:
    """A shallow copy holding only ``modalities`` (text fields dropped when text is not wanted)."""
    splits: dict[str, SplitData] = {}
    for name, split in dataset.splits.items():
        keep_text = "text" in modalities
        splits[name] = dataclasses.replace(
            split,
            sequences={m: v for m, v in split.sequences.items() if m in modalities},
            lengths={m: v for m, v in split.lengths.items() if m in modalities},
            token_ids=split.token_ids if keep_text else None,
            token_lengths=split.token_lengths if keep_text else None,
            unimodal_labels=dict(split.unimodal_labels),
        )
    return MultimodalDataset(splits, dict(dataset.meta))


def prepare(
    dataset: MultimodalDataset, cfg: ExperimentConfig, stats: Any = None, tokenizer: Any = None
) -> PreparedData:
    """Applies modality selection, tokenisation and standardisation (fits stats on train if None)."""
    modalities = tuple(m for m in cfg.data.modalities if m in dataset.modalities or m == "text")
    dataset = select_modalities(dataset, modalities)
    if "text" in modalities and cfg.model.text.pretrained:
        from mifusion.data.text_inputs import prepare_text
        from mifusion.encoders.text import load_tokenizer  # imports torch: only when tokenising

        tokenizer = tokenizer or load_tokenizer(cfg.model.text.pretrained)
        dataset = prepare_text(dataset, tokenizer, cfg.model.text.pretrained, cfg.data.max_text_tokens)
    if cfg.data.standardize and any(s.sequences for s in dataset.splits.values()):
        from mifusion.data.statistics import FeatureStats

        if stats is None:
            stats = FeatureStats().fit(dataset["train"])
        dataset = stats.apply(dataset)
    spec = data_spec(dataset, cfg.data.modalities)
    return PreparedData(dataset, spec, stats, tokenizer)


def prepare_data(cfg: ExperimentConfig) -> PreparedData:
    """Loads (or generates) and prepares the configured data."""
    return prepare(load_raw(cfg), cfg)
