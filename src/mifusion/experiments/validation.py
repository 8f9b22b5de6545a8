"""Checks of a whole :class:`~mifusion.config.ExperimentConfig` before any work starts.

:func:`config_problems` is pure: it lists every problem it finds, each one line naming the option, the
value and the fix. :func:`check_config` raises the first as a :class:`~mifusion.errors.ConfigError`.
Names (model, penalty estimator, modalities, selection metric) are checked against the registries; numbers
against their ranges; the device against the machine. Problems that need the data (a modality the data
lacks, a model option that does not fit the feature sizes) are found by :func:`check_build`, which builds
the model once on the prepared data's spec; both run before the run directory is created.

Example:
    >>> from mifusion.config import load
    >>> config_problems(load(None, ["train.batch_size=0"]))
    ['train.batch_size=0 is out of range: must be an integer >= 1 (e.g. train.batch_size=32)']
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from mifusion.config import MODALITIES, ExperimentConfig, from_dict
from mifusion.errors import ConfigError

if TYPE_CHECKING:
    from mifusion.data.prepared import PreparedData

__all__ = [
    "check_build",
    "check_config",
    "check_device",
    "check_select_metric",
    "check_synth_memory",
    "check_token_ids",
    "config_problems",
]

# (option, lowest allowed, lowest inclusive, highest allowed, highest inclusive, example fix)
Range = tuple[str, float | None, bool, float | None, bool, str]
RANGES: tuple[Range, ...] = (
    ("train.epochs", 1, True, None, False, "40"),
    ("train.batch_size", 1, True, None, False, "32"),
    ("train.eval_batch_size", 1, True, None, False, "128"),
    ("train.lr", 0, False, None, False, "1e-3"),
    ("train.text_lr", 0, True, None, False, "5e-5"),
    ("train.estimator_lr", 0, False, None, False, "1e-3"),
    ("train.weight_decay", 0, True, None, False, "1e-4"),
    ("train.clip_norm", 0, False, None, False, "1.0 (or null for no clipping)"),
    ("train.text_lr_decay", 0, False, 1, True, "0.9 (or 1 for no decay)"),
    ("train.warmup_fraction", 0, True, 1, False, "0.1"),
    ("train.ema_decay", 0, False, 1, False, "0.99 (or null for no average)"),
    ("train.plateau_factor", 0, False, 1, False, "0.5"),
    ("train.plateau_patience", 0, True, None, False, "20"),
    ("train.early_stopping_patience", 1, True, None, False, "10"),
    ("train.estimator_pass_fraction", 0, False, 1, True, "1.0"),
    ("train.modality_dropout", 0, True, 1, False, "0.1"),
    ("train.max_nonfinite_steps", 1, True, None, False, "20"),
    ("train.num_threads", 1, True, None, False, "1 (or null for torch's default)"),
    ("model.hidden_dim", 1, True, None, False, "128"),
    ("model.dropout", 0, True, 1, False, "0.1"),
    ("model.sequence.hidden_dim", 1, True, None, False, "16"),
    ("model.sequence.output_dim", 1, True, None, False, "16"),
    ("model.sequence.num_layers", 1, True, None, False, "1"),
    ("model.sequence.dropout", 0, True, 1, False, "0.0"),
    ("model.text.hidden_size", 1, True, None, False, "64"),
    ("model.text.num_layers", 1, True, None, False, "2"),
    ("model.text.num_heads", 1, True, None, False, "2"),
    ("model.text.intermediate_size", 1, True, None, False, "128"),
    ("penalty.weight", None, False, None, False, "0.1"),
    ("penalty.warmup_epochs", 0, True, None, False, "0"),
    ("penalty.critic_hidden", 1, True, None, False, "128"),
    ("penalty.critic_layers", 1, True, None, False, "2"),
    ("penalty.critic_steps", 1, True, None, False, "1"),
    ("data.max_text_tokens", 3, True, None, False, "50"),
    ("data.synth.n", 3, True, None, False, "600"),
)


def _get(cfg: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        cfg = getattr(cfg, part, None)
    return cfg


def _bounds_text(low: float | None, low_in: bool, high: float | None, high_in: bool, integer: bool) -> str:
    kind = "an integer" if integer else "a finite number"
    parts = []
    if low is not None:
        parts.append(f"{'>=' if low_in else '>'} {low:g}")
    if high is not None:
        parts.append(f"{'<=' if high_in else '<'} {high:g}")
    return f"must be {kind}" + (" " + " and ".join(parts) if parts else "")


def range_problems(cfg: ExperimentConfig) -> Iterator[str]:
    """One line per number outside its range (NaN and infinities included)."""
    for option, low, low_in, high, high_in, example in RANGES:
        value = _get(cfg, option)
        if value is None:
            continue
        ok = math.isfinite(value)
        if ok and low is not None:
            ok = value >= low if low_in else value > low
        if ok and high is not None:
            ok = value <= high if high_in else value < high
        if not ok:
            rule = _bounds_text(low, low_in, high, high_in, isinstance(value, int))
            yield f"{option}={value!r} is out of range: {rule} (e.g. {option}={example})"


def name_problems(cfg: ExperimentConfig) -> Iterator[str]:
    """Unknown model, options, estimator, modalities; empty or repeated seeds; warm-up without a schedule."""
    import mifusion.estimators  # registers every estimator
    import mifusion.models  # noqa: F401  (registers every model)
    from mifusion.estimators.base import ESTIMATORS
    from mifusion.models.base import MODELS

    if cfg.model.name not in MODELS:
        yield (
            f"model.name={cfg.model.name!r} is not a model; use one of {', '.join(MODELS.names())} "
            "(mifusion list models)"
        )
    else:
        entry = MODELS.get(cfg.model.name)
        if entry.options_type is not None:
            try:
                from_dict(entry.options_type, dict(cfg.model.options), where="model.options")
            except ConfigError as err:
                yield f"{err} (model {cfg.model.name})"
        elif cfg.model.options:
            yield f"model {cfg.model.name} takes no model.options; remove {sorted(cfg.model.options)[0]}"
    if cfg.penalty.estimator and cfg.penalty.estimator not in ESTIMATORS:
        yield (
            f"penalty.estimator={cfg.penalty.estimator!r} is not an estimator; use one of "
            f"{', '.join(ESTIMATORS.names())} (mifusion list estimators)"
        )
    if not cfg.penalty.estimator and cfg.penalty.options:
        yield "penalty.options are set but penalty.estimator is not; set --penalty NAME or drop the options"
    mods = cfg.data.modalities
    for m in mods:
        if m not in MODALITIES:
            yield f"data.modalities has {m!r}, not a modality; use a subset of {', '.join(MODALITIES)}"
    if not mods:
        yield f"data.modalities is empty; use a non-empty subset of {', '.join(MODALITIES)}"
    if len(set(mods)) != len(mods):
        yield f"data.modalities lists a modality twice ({list(mods)}); list each once"
    if cfg.train.warmup_fraction > 0 and cfg.train.lr_schedule == "plateau":
        yield (
            f"train.warmup_fraction={cfg.train.warmup_fraction:g} needs a per-step schedule; set "
            "train.lr_schedule to constant, linear or cosine (or train.warmup_fraction=0)"
        )
    seeds = cfg.train.seeds
    if not seeds:
        yield "train.seeds is empty; give at least one seed (e.g. --seeds 1111)"
    elif len(set(seeds)) != len(seeds):
        yield f"train.seeds repeats a seed ({list(seeds)}); seeds must be distinct"


def _metric_names(kind: str | None = None) -> tuple[str, ...]:
    from mifusion.metrics.accumulator import METRICS

    kinds = [kind] if kind else list(METRICS)
    names: dict[str, None] = {}
    for k in kinds:
        names.update(dict.fromkeys(METRICS[k]))
    return (*names, "loss")


def check_select_metric(metric: str, kind: str | None = None) -> None:
    """Raises ConfigError unless ``metric`` is a validation metric (of dataset ``kind`` when given)."""
    names = _metric_names(kind)
    if metric not in names:
        of = f" of {kind}-style labels" if kind else ""
        raise ConfigError(
            f"train.select_metric={metric!r} is not a metric{of}; use one of {', '.join(names)}"
        )


def check_device(name: str) -> None:
    """Raises ConfigError unless ``train.device`` names a device this machine has."""
    import torch

    if name == "auto":
        return
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError):
        raise ConfigError(f"train.device={name!r} is not a device; use auto, cpu, cuda or cuda:N") from None
    if device.type == "cpu":
        return
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise ConfigError(f"train.device={name!r} but this machine has no CUDA GPU; use auto or cpu")
        if device.index is not None and device.index >= count:
            raise ConfigError(
                f"train.device={name!r} but this machine has {count} GPU(s) (cuda:0..cuda:{count - 1})"
            )
        return
    if device.type == "mps" and torch.backends.mps.is_available():
        return
    raise ConfigError(f"train.device={name!r} is not available here; use auto, cpu or cuda")


def config_problems(cfg: ExperimentConfig) -> list[str]:
    """Every problem of ``cfg`` that can be found without the data, one line each (empty when fine)."""
    problems = [*range_problems(cfg), *name_problems(cfg)]
    try:
        check_select_metric(cfg.train.select_metric)
    except ConfigError as err:
        problems.append(str(err))
    return problems


def check_config(cfg: ExperimentConfig) -> None:
    """Raises ConfigError with the first problem of :func:`config_problems`, then checks the device."""
    problems = config_problems(cfg)
    if problems:
        extra = f" ({len(problems) - 1} more problem(s) after fixing this)" if len(problems) > 1 else ""
        raise ConfigError(problems[0] + extra)
    check_device(cfg.train.device)
    if not cfg.data.path:
        synth = cfg.data.synth
        check_synth_memory(synth.like, synth.n, synth.aligned)


def check_token_ids(cfg: ExperimentConfig, data: PreparedData) -> None:
    """Refuses token ids outside the text encoder's vocabulary (its embedding would fail mid-training)."""
    if data.spec.text_kind != "tokens":
        return
    size = len(data.tokenizer) if data.tokenizer is not None else data.spec.vocab_size
    if not size:
        return
    for split in data.dataset:
        ids = split.token_ids
        if ids is None or ids.size == 0:
            continue
        low, high = int(ids.min()), int(ids.max())
        if low < 0 or high >= size:
            encoder = cfg.model.text.pretrained or "the randomly initialised text encoder"
            raise ConfigError(
                f"{cfg.data.path or 'the synthetic data'}: split {split.name!r} has token ids {low}..{high} but "
                f"{encoder} has a vocabulary of {size}; re-tokenise the raw text with that encoder's "
                "tokenizer (or fix the dataset's tokenizer/vocab_size meta)"
            )


def check_build(cfg: ExperimentConfig, data: PreparedData) -> None:
    """Builds the configured model once on ``data.spec`` (no files), so that options that do not fit the
    data (attention heads that do not divide a width, missing modalities) fail before any work.

    Also checks ``train.select_metric`` against the data's label convention.
    """
    from mifusion.evaluation.evaluate import metric_kind
    from mifusion.models.build import build_model

    check_select_metric(cfg.train.select_metric, metric_kind(data.spec))
    check_token_ids(cfg, data)
    try:
        model = build_model(cfg.model, cfg.penalty, data.spec)
    except ConfigError:
        raise
    except (ValueError, AssertionError, TypeError, RuntimeError) as err:
        text = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise ConfigError(
            f"model {cfg.model.name} cannot be built with these settings ({text}); "
            "check model.* and penalty.* (e.g. attention heads must divide the width)"
        ) from None
    model.check_estimator_stage(cfg.train.estimator_stage)
    del model


SYNTH_PROBE = 30
SYNTH_PEAK_FACTOR = 3.0
"""Peak memory of the generator relative to its output (intermediate maps and noise), measured loosely."""


def check_synth_memory(like: str, n: int | None, aligned: bool = False, params: Any = None) -> None:
    """Refuses a synthetic dataset of ``n`` samples that would not fit in memory (before generating it).

    The bytes per sample come from a 30-sample probe with the same settings.
    """
    if n is None or n <= SYNTH_PROBE:
        return
    from mifusion.data.synthetic import generate
    from mifusion.files import check_memory

    probe = generate(like=like, n=SYNTH_PROBE, seed=0, aligned=aligned, params=params)
    arrays = [a for s in probe for a in (*s.sequences.values(), *s.lengths.values(), s.labels, s.ids)]
    arrays += [s.token_ids for s in probe if s.token_ids is not None]
    per_sample = sum(int(getattr(a, "nbytes", 0)) for a in arrays) / SYNTH_PROBE
    per_sample += sum(len(t) for s in probe for t in (s.raw_text or [])) * 2 / SYNTH_PROBE
    check_memory(
        per_sample * n * SYNTH_PEAK_FACTOR,
        f"a synthetic {like} dataset of {n} samples",
        "use a smaller --n / data.synth.n",
    )
