"""build_model: the registered model for a config and data spec, optionally with a dependency penalty."""

from __future__ import annotations

from mifusion.config import ModelConfig, PenaltyConfig, from_dict
from mifusion.data.spec import DataSpec
from mifusion.errors import ConfigError
from mifusion.estimators.penalty import DependencyPenalty
from mifusion.models.base import MODELS, FusionModel
from mifusion.models.penalized import PenalizedModel, tapped_dims


def build_model(model_cfg: ModelConfig, penalty_cfg: PenaltyConfig | None, spec: DataSpec) -> FusionModel:
    """Builds ``model_cfg.name`` for ``spec``; wraps it with the penalty when ``penalty_cfg.estimator`` is set.

    Raises:
        ConfigError: unknown model or option, a required modality missing, or unaligned data for a model
            that needs word-aligned data.

    Example:
        >>> from mifusion.models.testing import tiny_spec
        >>> model = build_model(ModelConfig(name="lf_dnn"), PenaltyConfig(), tiny_spec(("audio",)))
        >>> model.modalities
        ('audio',)
    """
    import mifusion.models  # noqa: F401  (registers every model)

    entry = MODELS.get(model_cfg.name)
    missing = sorted(entry.requires - set(spec.modalities))
    if missing:
        raise ConfigError(
            f"model {model_cfg.name} needs {missing[0]} but data.modalities is {list(spec.modalities)}; "
            f"add {missing[0]} or choose another model"
        )
    if entry.needs_aligned and len(spec.modalities) > 1 and not spec.aligned:
        raise ConfigError(
            f"model {model_cfg.name} needs word-aligned data but the data is unaligned; "
            "use aligned features (data.synth.aligned / an aligned pickle) or another model"
        )
    options: object | None = None
    if entry.options_type is not None:
        options = from_dict(entry.options_type, dict(model_cfg.options), where="model.options")
    elif model_cfg.options:
        raise ConfigError(f"model {model_cfg.name} takes no model.options")
    model = entry.builder(model_cfg, spec, options)
    if penalty_cfg is None or not penalty_cfg.estimator:
        return model
    return PenalizedModel(
        model,
        build_penalty(penalty_cfg, tapped_dims(model, penalty_cfg.tap)),
        penalty_cfg.tap,
        penalty_cfg.warmup_epochs,
    )


def build_penalty(cfg: PenaltyConfig, dims: dict[str, int]) -> DependencyPenalty:
    """The DependencyPenalty of ``cfg`` over representations of sizes ``dims``."""
    if len(dims) < 2:
        raise ConfigError(
            f"a dependency penalty needs at least two representations but the model taps only {list(dims)}; "
            "use two or more modalities or penalty.tap: fused"
        )
    return DependencyPenalty(
        cfg.estimator or "",
        dims,
        scope=cfg.scope,
        weight=cfg.weight,
        hidden_dim=cfg.critic_hidden,
        num_layers=cfg.critic_layers,
        critic=cfg.critic,
        negatives=cfg.negatives,
        **dict(cfg.options),
    )


__all__ = ["build_model", "build_penalty"]
