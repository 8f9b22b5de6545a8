"""One optimisation step of the one trainer, and training-time batch transforms."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import torch

from mifusion.data.batch import MultimodalBatch
from mifusion.models.base import FusionModel, ModelOutput
from mifusion.objectives import compose_loss, task_loss
from mifusion.training.distributed import any_flag, average_gradients
from mifusion.training.optim import Optimizers


@dataclass
class StepResult:
    """What one step did: logged parts (raw and weighted terms, task, total) and whether it was skipped."""

    parts: dict[str, float] = field(default_factory=dict)
    skipped: bool = False
    bad_term: str | None = None


def drop_modalities(
    batch: MultimodalBatch, probability: float, generator: torch.Generator
) -> MultimodalBatch:
    """Masks each modality out of each sample with ``probability`` (never all of a sample's modalities).

    Dropped samples get ``present`` False, length 0 and an all-False mask (tokens included for text).
    """
    names = [m for m in batch.present]
    if probability <= 0 or len(names) < 2:
        return batch
    size = len(batch)
    drop = torch.rand((len(names), size), generator=generator) < probability  # (M, B)
    keep_one = torch.randint(len(names), (size,), generator=generator)
    all_dropped = drop.all(dim=0)
    drop[keep_one[all_dropped], all_dropped.nonzero().flatten()] = False
    out = replace(batch, present=dict(batch.present), lengths=dict(batch.lengths), masks=dict(batch.masks))
    for row, m in enumerate(names):
        d = drop[row].to(batch.labels.device)
        out.present[m] = out.present[m] & ~d
        if m in out.lengths:
            out.lengths[m] = torch.where(d, torch.zeros_like(out.lengths[m]), out.lengths[m])
            out.masks[m] = out.masks[m] & ~d[:, None]
        if m == "text" and out.token_mask is not None:
            out.token_mask = out.token_mask & ~d[:, None]
    return out


def first_nonfinite(parts: dict[str, float]) -> str | None:
    """The first raw term (task before the others) whose value is NaN or infinite."""
    for name, value in parts.items():
        if not name.startswith("weighted/") and name != "total" and not math.isfinite(value):
            return name
    return "total" if not math.isfinite(parts.get("total", 0.0)) else None


def _step_estimator(out: ModelOutput, optim: Optimizers, clip: float | None) -> float | None:
    """One estimator step on ``out.estimator_loss`` (detached inputs); returns its value or None."""
    if out.estimator_loss is None or optim.estimator is None:
        return None
    value = float(out.estimator_loss.detach())
    if any_flag(not math.isfinite(value)):
        return value
    optim.estimator.zero_grad(set_to_none=True)
    out.estimator_loss.backward(inputs=optim.estimator_params)
    average_gradients(optim.estimator_params)
    if clip is not None:
        torch.nn.utils.clip_grad_norm_(optim.estimator_params, clip)
    optim.estimator.step()
    return value


def train_step(
    model: FusionModel,
    batch: MultimodalBatch,
    optim: Optimizers,
    clip: float | None,
    critic_steps: int = 1,
    autocast: torch.dtype | None = None,
) -> StepResult:
    """Forward once; main/text step on task + weighted terms; estimator step(s) on detached reps."""
    device_type = batch.labels.device.type
    with torch.autocast(device_type, dtype=autocast or torch.bfloat16, enabled=autocast is not None):
        out = model(batch)
        task = task_loss(out.prediction.float().reshape(-1), batch.labels)
        objective = compose_loss(task, out.terms)
    parts = dict(objective.parts)
    parts.update({f"diag/{k}": float(v.detach()) for k, v in out.diagnostics.items() if v.numel() == 1})
    bad = first_nonfinite(parts)
    if any_flag(bad is not None):
        optim.main.zero_grad(set_to_none=True)
        return StepResult(parts, skipped=True, bad_term=bad or "another process's loss")
    optim.main.zero_grad(set_to_none=True)
    objective.total.backward(inputs=optim.main_params, retain_graph=out.estimator_loss is not None)
    average_gradients(optim.main_params)
    if clip is not None:
        torch.nn.utils.clip_grad_norm_(optim.main_params, clip)
    optim.main.step()
    estimator_value = _step_estimator(out, optim, clip)
    extra = getattr(model, "estimator_loss_from", None)
    for _ in range(max(critic_steps - 1, 0)):
        if extra is None:
            break
        _step_estimator(replace(out, estimator_loss=extra(out)), optim, clip)
    if estimator_value is not None:
        parts["estimator_loss"] = estimator_value
    return StepResult(parts)


def estimator_pass_step(
    model: FusionModel, batch: MultimodalBatch, optim: Optimizers, clip: float | None
) -> None:
    """The reference's stage 1 (``estimator_stage='separate_pass'``): a forward, estimator step only."""
    out = model(batch)
    _step_estimator(out, optim, clip)
