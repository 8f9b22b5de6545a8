"""Any model plus a dependency penalty (Colombo et al., EMNLP 2021; REFERENCE 1.2), model-agnostic.

The penalty taps the model's declared ``unimodal`` vectors (default) or, with ``tap="fused"``, the fused
vector together with the unimodal ones (the dependency between the fusion and each modality). Its term is
added as ``penalty``; its critic loss (on detached inputs) is added to ``estimator_loss``.
"""

from __future__ import annotations

import torch

from mifusion.data.batch import MultimodalBatch
from mifusion.estimators.penalty import DependencyPenalty
from mifusion.models.base import FusionModel, ModelOutput, ParamGroups
from mifusion.objectives import WeightedTerm


def tapped_dims(model: FusionModel, tap: str) -> dict[str, int]:
    """Sizes of the representations the penalty reads from ``model``."""
    dims = dict(model.unimodal_dims)
    return {"fused": model.fused_dim, **dims} if tap == "fused" else dims


class PenalizedModel(FusionModel):
    """Wraps ``model`` and adds ``penalty``'s term, estimate and critic loss to its output.

    Args:
        model: any registered FusionModel.
        penalty: a :class:`mifusion.estimators.penalty.DependencyPenalty` built for ``tapped_dims``.
        tap: "unimodal" or "fused".
        warmup_epochs: the penalty weight ramps linearly from 0 over this many epochs (``set_epoch``).
    """

    has_consistency_scores = True

    def __init__(
        self, model: FusionModel, penalty: DependencyPenalty, tap: str = "unimodal", warmup_epochs: int = 0
    ):
        super().__init__()
        self.model = model
        self.penalty = penalty
        self.tap = tap
        self.warmup_epochs = warmup_epochs
        self.epoch = 0
        self.modalities = model.modalities
        self.text_encoder = model.text_encoder
        self.unimodal_dims = dict(model.unimodal_dims)
        self.fused_dim = model.fused_dim
        self.required_estimator_stage = model.required_estimator_stage

    def param_groups(self) -> ParamGroups:
        """The wrapped model's groups (it may override them) plus the penalty's critic parameters."""
        inner = self.model.param_groups()
        critic = [p for p in self.penalty.parameters() if p.requires_grad]
        return ParamGroups(inner.text_encoder, inner.main, inner.estimator + critic)

    def set_epoch(self, epoch: int) -> None:
        """Tells the wrapper (and the wrapped model) the current 0-based epoch, for the warm-up."""
        self.epoch = epoch
        self.model.set_epoch(epoch)

    def scale(self) -> float:
        """Warm-up factor of the penalty weight in [0, 1]."""
        if self.warmup_epochs <= 0:
            return 1.0
        return min(1.0, self.epoch / self.warmup_epochs)

    def _tapped(
        self, out: ModelOutput, batch: MultimodalBatch, detach: bool = False
    ) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        """The representations the penalty sees (modality or "fused" -> (B, D)) and their presence masks."""
        reps = {m: out.unimodal[m] for m in self.unimodal_dims}
        available = {m: batch.present[m] for m in reps if m in batch.present}
        if self.tap == "fused":
            assert out.fused is not None, "tap='fused' needs a model with a fused vector"
            reps = {"fused": out.fused, **reps}
            available["fused"] = torch.ones_like(out.prediction, dtype=torch.bool)
        if detach:
            reps = {k: v.detach() for k, v in reps.items()}
        return reps, available

    def extra_critic_loss(self, out: ModelOutput, batch: MultimodalBatch) -> torch.Tensor | None:
        """The critic's loss on ``out``'s tapped representations, detached (extra critic steps, no re-run)."""
        inner = self.model.extra_critic_loss(out, batch)
        loss: torch.Tensor = self.penalty(*self._tapped(out, batch, detach=True)).critic_loss
        return loss if inner is None else inner + loss

    def consistency_scores(self, batch: MultimodalBatch) -> torch.Tensor:
        """(B,) the penalty's pointwise score of each sample on the tapped representations."""
        reps, _ = self._tapped(self.model(batch), batch)
        return self.penalty.pointwise_scores(reps)

    def representations(self, batch: MultimodalBatch) -> dict[str, torch.Tensor]:
        """The wrapped model's ``unimodal`` vectors (the penalty does not run)."""
        return self.model.representations(batch)

    def forward(self, batch: MultimodalBatch) -> ModelOutput:
        """Runs the model, then the penalty on the tapped representations."""
        out = self.model(batch)
        result = self.penalty(*self._tapped(out, batch))
        terms = dict(out.terms)
        # The penalty's term is ``-weight * estimate``: logged as the estimate with its signed weight.
        terms["penalty"] = WeightedTerm(result.estimate, -float(self.penalty.weight) * self.scale())
        diagnostics = dict(out.diagnostics)
        diagnostics["penalty_estimate"] = result.estimate.detach()
        for name, value in result.diagnostics.items():
            diagnostics[f"penalty/{name}"] = torch.as_tensor(value).detach()
        estimator_loss = result.critic_loss
        if out.estimator_loss is not None:
            estimator_loss = out.estimator_loss + estimator_loss
        return ModelOutput(out.prediction, out.unimodal, out.fused, terms, estimator_loss, diagnostics)
