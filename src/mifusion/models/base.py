"""What every fusion model shares: the typed output, parameter groups, the data spec and the registry."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

from torch import Tensor, nn

from mifusion.data.batch import MultimodalBatch
from mifusion.errors import ConfigError
from mifusion.estimators.base import EstimatorModule
from mifusion.objectives import WeightedTerm
from mifusion.registry import Registry


@dataclass
class ModelOutput:
    """What a model's forward returns; the one trainer needs nothing else.

    Attributes:
        prediction: (B,) predicted sentiment score.
        unimodal: modality -> (B, D_m) the per-modality vectors a dependency penalty taps by default.
        fused: (B, D_f) the fused representation, or None.
        terms: auxiliary objective terms with explicit weights (negative weight = maximised).
        estimator_loss: loss minimised by the estimator parameters only (computed on detached inputs),
            or None when the model has no estimator parameters.
        diagnostics: detached scalars to log (estimates, norms, variances).
    """

    prediction: Tensor
    unimodal: dict[str, Tensor] = field(default_factory=dict)
    fused: Tensor | None = None
    terms: dict[str, WeightedTerm] = field(default_factory=dict)
    estimator_loss: Tensor | None = None
    diagnostics: dict[str, Tensor] = field(default_factory=dict)


class ParamGroups(NamedTuple):
    """Disjoint parameter groups with their own optimisers or learning rates."""

    text_encoder: list[nn.Parameter]
    main: list[nn.Parameter]
    estimator: list[nn.Parameter]


class FusionModel(nn.Module):
    """Base class of every model.

    Subclasses set ``self.modalities`` and, when they hold a pretrained-style text encoder, assign it to
    ``self.text_encoder``; estimator networks subclass :class:`EstimatorModule`. Parameter groups then
    follow from module membership, never from name substrings.
    """

    modalities: tuple[str, ...] = ()
    text_encoder: nn.Module | None
    unimodal_dims: dict[str, int]
    """Sizes of the ``ModelOutput.unimodal`` vectors (set by every model; used to size penalty critics)."""
    fused_dim: int
    """Size of ``ModelOutput.fused``."""
    required_estimator_stage: str | None = None
    """A ``train.estimator_stage`` the model cannot train without (MMIM parity: "separate_pass"), or None."""
    has_consistency_scores: bool = False
    """Whether :meth:`consistency_scores` is implemented (a dependency penalty's statistics network)."""

    def __init__(self) -> None:
        super().__init__()
        # An instance attribute (not a class default): a class-level ``None`` would shadow the submodule
        # that nn.Module registers when a subclass assigns ``self.text_encoder = encoder``.
        self.text_encoder = None

    def forward(self, batch: MultimodalBatch) -> ModelOutput:  # pragma: no cover - interface
        raise NotImplementedError

    def check_estimator_stage(self, stage: str) -> None:
        """Raises ConfigError when the model cannot train with ``train.estimator_stage=stage``."""
        required = self.required_estimator_stage
        if required is not None and stage != required:
            raise ConfigError(
                f"train.estimator_stage={stage!r}, but this model trains its estimators only in the "
                f"{required!r} stage (MMIM parity); set train.estimator_stage={required}"
            )

    def set_epoch(self, epoch: int) -> None:
        """Called by the trainer at the start of each 0-based epoch, before any pass (default: nothing)."""

    def extra_critic_loss(self, out: ModelOutput, batch: MultimodalBatch) -> Tensor | None:
        """The loss of one more critic step on ``out``'s detached representations, or None (default).

        The trainer calls it ``penalty.critic_steps - 1`` times per batch after the first estimator step
        (on ``out.estimator_loss``), so the encoders run once per batch. A model whose estimators can be
        re-evaluated on the forward's output (the penalty wrapper) overrides it.
        """
        return None

    def consistency_scores(self, batch: MultimodalBatch) -> Tensor:
        """(B,) statistics-network score of each sample's own modalities (higher = more consistent).

        Only models with ``has_consistency_scores`` implement it (a dependency penalty's critic).
        """
        raise ConfigError(
            f"{type(self).__name__} has no dependency penalty to score with; train with --penalty ESTIMATOR"
        )

    def representations(self, batch: MultimodalBatch) -> dict[str, Tensor]:
        """modality -> (B, D_m) the ``unimodal`` vectors a dependency penalty taps (default: the forward's)."""
        return self(batch).unimodal

    def estimator_pass_loss(self, batch: MultimodalBatch) -> Tensor | None:
        """The loss of the separate estimator pass (``train.estimator_stage='separate_pass'``), or None.

        The trainer back-propagates it into every parameter and steps only the estimator optimiser.
        Default: the forward's ``estimator_loss`` (computed on detached representations). MMIM overrides
        it with the reference's stage 1, which leaves the objective's memory and batch index untouched.
        """
        return self(batch).estimator_loss

    def param_groups(self) -> ParamGroups:
        """Splits trainable parameters into text encoder / main / estimator groups (each exactly once)."""
        estimator_ids = {
            id(p)
            for module in self.modules()
            if isinstance(module, EstimatorModule)
            for p in module.parameters()
        }
        text_ids = set()
        if self.text_encoder is not None:
            text_ids = {id(p) for p in self.text_encoder.parameters()} - estimator_ids
        groups = ParamGroups([], [], [])
        for p in self.parameters():
            if not p.requires_grad:
                continue
            if id(p) in estimator_ids:
                groups.estimator.append(p)
            elif id(p) in text_ids:
                groups.text_encoder.append(p)
            else:
                groups.main.append(p)
        return groups


@dataclass(frozen=True)
class ModelEntry:
    """A registered model: its builder, its options dataclass and what data it needs."""

    builder: Callable[..., FusionModel]
    options_type: type | None = None
    requires: frozenset[str] = frozenset()
    needs_aligned: bool = False
    summary: str = ""


MODELS: Registry[ModelEntry] = Registry("model")
