"""Typed experiment configuration: frozen dataclasses and a strict YAML loader.

Only ``build_*`` functions read these dataclasses; modules receive explicit arguments.

Example:
    >>> cfg = from_dict(ExperimentConfig, {"model": {"name": "tfn"}, "train": {"epochs": 3}})
    >>> cfg.model.name, cfg.train.epochs, cfg.train.batch_size
    ('tfn', 3, 32)
    >>> apply_overrides(cfg, ["train.lr=0.01"]).train.lr
    0.01
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from mifusion.coerce import from_dict, merge, parse_override, to_dict
from mifusion.errors import ConfigError

MODALITIES: tuple[str, ...] = ("text", "audio", "vision")


@dataclass(frozen=True)
class SynthConfig:
    """The built-in synthetic dataset, used when ``data.path`` is empty."""

    like: Literal["mosi", "mosei", "sims"] = "mosi"
    n: int = 600
    seed: int = 0
    aligned: bool = False


@dataclass(frozen=True)
class DataConfig:
    """Where the data comes from and how it is prepared."""

    path: str | None = None
    format: Literal["auto", "mmsa_pickle", "label_csv", "csd", "safe"] = "auto"
    modalities: tuple[str, ...] = MODALITIES
    standardize: bool = True
    strict: bool = False
    folds: str | None = None
    max_text_tokens: int = 50
    synth: SynthConfig = field(default_factory=SynthConfig)


@dataclass(frozen=True)
class TextEncoderConfig:
    """Text encoder: a local transformers model directory/name, or a small randomly initialised BERT."""

    pretrained: str | None = None
    pooling: Literal["cls", "mean"] = "cls"
    finetune: bool = True
    hidden_size: int = 64
    num_layers: int = 2
    num_heads: int = 2
    intermediate_size: int = 128


@dataclass(frozen=True)
class SequenceEncoderConfig:
    """Encoder for frame sequences (audio, vision, precomputed text features)."""

    kind: Literal["lstm", "gru", "transformer", "linear"] = "lstm"
    """``linear``: a per-frame Linear(input, hidden_dim), no recurrence (with mean pooling: a linear map of
    the time-averaged frames); it has one layer and no direction, so num_layers 1 and no bidirectional."""
    hidden_dim: int = 16
    output_dim: int = 16
    num_layers: int = 1
    bidirectional: bool = False
    dropout: float = 0.0
    pooling: tuple[Literal["last", "mean", "max", "attention"], ...] = ()
    """Poolings of the valid steps, concatenated (e.g. [mean, last]); empty = the core's own (last / mean)."""
    init: Literal["default", "xavier"] = "default"
    """``xavier``: Xavier-uniform weights and zero biases (per gate for LSTM/GRU) instead of torch's."""

    def __post_init__(self) -> None:
        if len(set(self.pooling)) != len(self.pooling):
            raise ConfigError(f"model.sequence.pooling {list(self.pooling)} repeats a name; list each once")
        if self.kind == "linear" and (self.num_layers != 1 or self.bidirectional):
            raise ConfigError(
                "model.sequence.kind=linear is one per-frame projection: set model.sequence.num_layers=1 "
                "and model.sequence.bidirectional=false (or use lstm/gru)"
            )


@dataclass(frozen=True)
class ModelConfig:
    """Which fusion model to build, on which encoders; ``options`` go to the model's own options type."""

    name: str = "mmim"
    text: TextEncoderConfig = field(default_factory=TextEncoderConfig)
    sequence: SequenceEncoderConfig = field(default_factory=SequenceEncoderConfig)
    hidden_dim: int = 128
    dropout: float = 0.1
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PenaltyConfig:
    """A dependency penalty added to any model's loss: ``- weight * D(joint || product of marginals)``."""

    estimator: str | None = None
    scope: Literal["total_correlation", "pairwise"] = "total_correlation"
    tap: Literal["unimodal", "fused"] = "unimodal"
    weight: float = 0.1
    warmup_epochs: int = 0
    critic: Literal["joint", "separable"] = "joint"
    critic_hidden: int = 128
    critic_layers: int = 2
    negatives: Literal["derangement", "all_pairs"] = "derangement"
    critic_steps: int = 1
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation, selection and runtime settings for the one trainer."""

    epochs: int = 40
    batch_size: int = 32
    lr: float = 1e-3
    text_lr: float = 5e-5
    estimator_lr: float = 1e-3
    weight_decay: float = 1e-4
    optimizer: Literal["adam", "adamw"] = "adam"
    clip_norm: float | None = 1.0
    clip_scope: Literal["per_optimizer", "all"] = "per_optimizer"
    text_lr_decay: float = 1.0
    """Layer-wise lr decay of the text encoder: layer i of L gets text_lr * decay**(L-i); 1 = off."""
    lr_schedule: Literal["plateau", "constant", "linear", "cosine"] = "plateau"
    """plateau: ReduceLROnPlateau on validation loss; else per step, after warmup_fraction (training/schedule.py)."""
    warmup_fraction: float = 0.0
    ema_decay: float | None = None
    """Exponential moving average of the weights (training/ema.py); validation and test use it. null = off."""
    plateau_factor: float = 0.5
    plateau_patience: int = 20
    early_stopping_patience: int = 10
    select_metric: str = "mae"
    seeds: tuple[int, ...] = (1111,)
    estimator_stage: Literal["efficient", "separate_pass"] = "efficient"
    estimator_pass_fraction: float = 1.0
    bucketing: bool = True
    modality_dropout: float = 0.0
    max_nonfinite_steps: int = 20
    device: str = "auto"
    precision: Literal["32", "bf16-mixed", "64-true"] = "32"
    num_threads: int | None = None
    eval_batch_size: int = 128


@dataclass(frozen=True)
class ExperimentConfig:
    """Everything one ``mifusion train`` run needs."""

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    penalty: PenaltyConfig = field(default_factory=PenaltyConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    search_space: Mapping[str, Any] = field(default_factory=dict)


def apply_overrides(cfg: ExperimentConfig, overrides: Sequence[str]) -> ExperimentConfig:
    """Returns a copy of ``cfg`` with ``section.key=value`` overrides applied and re-validated."""
    data = to_dict(cfg)
    for text in overrides:
        path, value = parse_override(text)
        nested: dict[str, Any] = {path[-1]: value}
        for part in reversed(path[:-1]):
            nested = {part: nested}
        data = merge(data, nested)
    return from_dict(ExperimentConfig, data)


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Reads a YAML mapping, with a one-line error for missing or malformed files."""
    path = Path(path)
    if path.exists() and not path.is_file():  # stat only: opening a FIFO would block
        raise ConfigError(f"{path}: not a regular file; give the path of a YAML config file")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"{path}: cannot read config ({err.strerror}); check the path") from None
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}: invalid YAML{line}; fix the syntax") from None
    if not isinstance(data, Mapping):
        raise ConfigError(f"{path}: a config must be a YAML mapping of sections (data, model, ...)")
    return dict(data)


def load(path: str | Path | None = None, overrides: Sequence[str] = ()) -> ExperimentConfig:
    """Loads a YAML config (or the defaults when ``path`` is None) and applies overrides."""
    data = read_yaml(path) if path is not None else {}
    try:
        cfg = from_dict(ExperimentConfig, data)
    except ConfigError as err:
        raise ConfigError(f"{path}: {err}" if path is not None else str(err)) from None
    return apply_overrides(cfg, overrides)
