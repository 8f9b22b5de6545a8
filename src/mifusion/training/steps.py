"""One optimisation step of the one trainer, the reference's separate estimator pass, batch transforms.

``model`` is the module to run forward: the plain model, or the Fabric-wrapped one (``fabric`` given),
whose forward applies the precision's autocast and, under DDP, the gradient synchronisation of every
non-estimator parameter. Estimator parameters are kept outside DDP and averaged here.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor, nn

from mifusion.data.batch import MultimodalBatch
from mifusion.models.base import FusionModel, ModelOutput
from mifusion.objectives import compose_loss, task_loss
from mifusion.training.distributed import any_flag, average_gradients, in_ddp
from mifusion.training.optim import Optimizers

if TYPE_CHECKING:
    from lightning_fabric import Fabric


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


def full_precision(tensor: Tensor) -> Tensor:
    """``tensor`` in float32 when autocast made it half or bfloat16; float32/float64 as they are."""
    return tensor.float() if tensor.dtype in (torch.float16, torch.bfloat16) else tensor


def first_nonfinite(parts: dict[str, float]) -> str | None:
    """The first raw term (task before the others) whose value is NaN or infinite."""
    for name, value in parts.items():
        if not name.startswith("weighted/") and name != "total" and not math.isfinite(value):
            return name
    return "total" if not math.isfinite(parts.get("total", 0.0)) else None


def _unwrap(model: nn.Module) -> FusionModel:
    """The plain model inside Fabric / DDP wrappers."""
    from lightning_fabric.wrappers import _FabricModule
    from torch.nn.parallel import DistributedDataParallel

    while isinstance(model, (_FabricModule, DistributedDataParallel)):
        model = model.module
    if not isinstance(model, FusionModel):
        raise TypeError(f"the trainer runs FusionModels, got {type(model).__name__}; subclass FusionModel")
    return model


def _backward(loss: Tensor, inputs: Sequence[Tensor], fabric: Fabric | None, retain: bool = False) -> None:
    if fabric is None:
        loss.backward(inputs=list(inputs), retain_graph=retain)
    else:
        fabric.backward(loss, inputs=list(inputs), retain_graph=retain)


def _autocast(batch: MultimodalBatch, dtype: torch.dtype | None, fabric: Fabric | None) -> Any:
    """``dtype``'s autocast when given (with or without ``fabric``), else ``fabric``'s precision, else none."""
    if fabric is not None and dtype is None:
        return fabric.autocast()
    device_type = batch.labels.device.type
    return torch.autocast(device_type, dtype=dtype or torch.bfloat16, enabled=dtype is not None)


@contextlib.contextmanager
def _no_sync(model: nn.Module, fabric: Fabric | None) -> Iterator[None]:
    if fabric is not None and in_ddp(fabric):
        from lightning_fabric.wrappers import _FabricModule

        assert isinstance(model, _FabricModule), "under DDP the trainer runs the Fabric-wrapped model"
        with fabric.no_backward_sync(model):
            yield
    else:
        yield


def _step_estimator(
    loss: Tensor | None,
    optim: Optimizers,
    clip: float | None,
    fabric: Fabric | None,
    params: Sequence[nn.Parameter] | None = None,
) -> float | None:
    """One estimator-optimiser step on ``loss`` (computed on detached inputs) into ``params``.

    ``params`` defaults to every estimator parameter; parameters left without a gradient are not stepped.
    Returns the loss value, or None when there is nothing to step.
    """
    if loss is None or optim.estimator is None:
        return None
    params = optim.estimator_params if params is None else params
    value = float(loss.detach())
    # a batch too small for every estimator gives a constant loss: nothing to step on
    if any_flag(not math.isfinite(value) or not loss.requires_grad, fabric):
        return value
    optim.estimator.zero_grad(set_to_none=True)
    _backward(loss, params, fabric)
    average_gradients(params, fabric)
    if clip is not None:
        torch.nn.utils.clip_grad_norm_(params, clip)
    optim.estimator.step()
    return value


def _zero_grads(optim: Optimizers, everything: bool) -> None:
    optim.main.zero_grad(set_to_none=True)
    if everything and optim.estimator is not None:
        optim.estimator.zero_grad(set_to_none=True)


def _clip(params: Sequence[nn.Parameter], clip: float | None) -> None:
    if clip is not None:
        torch.nn.utils.clip_grad_norm_(params, clip)


def train_step(
    model: nn.Module,
    batch: MultimodalBatch,
    optim: Optimizers,
    clip: float | None,
    critic_steps: int = 1,
    autocast: torch.dtype | None = None,
    *,
    fabric: Fabric | None = None,
    clip_scope: str = "per_optimizer",
) -> StepResult:
    """Forward once; main/text step on task + weighted terms; ``critic_steps`` estimator steps.

    The first estimator step uses ``out.estimator_loss``; each further one re-evaluates the critic loss
    on the same forward's detached representations
    (:meth:`~mifusion.models.base.FusionModel.extra_critic_loss`), so the encoders run once per batch
    whatever ``critic_steps`` is. A step whose loss is non-finite in any process is skipped by every
    process before its backward.

    Args:
        model: the model to run (plain, or Fabric-wrapped when ``fabric`` is given).
        batch: this process's batch, on the model's device.
        optim: the run's optimisers.
        clip: gradient-norm clipping of each optimiser's parameters, or None.
        critic_steps: estimator steps per batch (``penalty.critic_steps``).
        autocast: autocast dtype; None leaves it to ``fabric``'s precision (or full precision without one).
        fabric: the launched Fabric (backward, DDP, all-reduce), or None for plain single-process torch.
        clip_scope: "per_optimizer" clips the main step's gradients alone; "all" (the MMIM reference) also
            back-propagates the total loss into the estimator parameters and clips one norm over every
            parameter's gradient before the main step, which alone steps.
    """
    with _autocast(batch, autocast, fabric):
        out = model(batch)
        prediction = full_precision(out.prediction).reshape(-1)
        task = task_loss(prediction, batch.labels.to(prediction.dtype))
        objective = compose_loss(task, out.terms)
    parts = dict(objective.parts)
    parts.update({f"diag/{k}": float(v.detach()) for k, v in out.diagnostics.items() if v.numel() == 1})
    bad = first_nonfinite(parts)
    everything = clip_scope == "all"
    _zero_grads(optim, everything)
    # every process agrees on the skip, so none runs a backward and DDP's reductions stay in lockstep
    if any_flag(bad is not None, fabric):
        return StepResult(parts, skipped=True, bad_term=bad or "another process's loss")
    params = [*optim.main_params, *optim.estimator_params] if everything else optim.main_params
    _backward(objective.total, params, fabric, retain=out.estimator_loss is not None)
    if everything:
        average_gradients(optim.estimator_params, fabric)
    _clip(params, clip)
    optim.main.step()
    if everything:  # the estimator parameters' gradients only counted in the norm
        _zero_grads(optim, everything)
    estimator_value = _step_estimator(out.estimator_loss, optim, clip, fabric)
    if estimator_value is not None:
        _extra_critic_steps(_unwrap(model), out, batch, optim, clip, critic_steps - 1, autocast, fabric)
        parts["estimator_loss"] = estimator_value
    return StepResult(parts)


def _extra_critic_steps(
    model: FusionModel,
    out: ModelOutput,
    batch: MultimodalBatch,
    optim: Optimizers,
    clip: float | None,
    steps: int,
    autocast: torch.dtype | None,
    fabric: Fabric | None,
) -> None:
    """``steps`` more estimator steps on ``model.extra_critic_loss(out, batch)`` (none when it is None)."""
    for _ in range(steps):
        with _autocast(batch, autocast, fabric):
            loss = model.extra_critic_loss(out, batch)
        if loss is None:
            return
        _step_estimator(loss, optim, clip, fabric)


def estimator_pass_step(
    model: nn.Module,
    batch: MultimodalBatch,
    optim: Optimizers,
    clip: float | None,
    autocast: torch.dtype | None = None,
    *,
    fabric: Fabric | None = None,
    clip_scope: str = "per_optimizer",
) -> float | None:
    """One step of the separate estimator pass (``train.estimator_stage='separate_pass'``).

    The model's :meth:`~mifusion.models.base.FusionModel.estimator_pass_loss` (MMIM: the reference's
    stage 1, ``-sum lld`` on the live representations) is back-propagated into every parameter; only the
    estimator optimiser steps and every other gradient is discarded, as in the reference. With
    ``clip_scope="all"`` the clipping norm covers every parameter's gradient (the reference's
    ``clip_grad_norm_(model.parameters())``); otherwise only the estimator parameters'. Under DDP the
    discarded gradients are not synchronised. Returns the loss, or None when the model has none.
    """
    if optim.estimator is None:
        return None
    everything = clip_scope == "all"
    with _no_sync(model, fabric):
        with _autocast(batch, autocast, fabric):
            loss = _unwrap(model).estimator_pass_loss(batch)
        if loss is None:
            return None
        value = float(loss.detach())
        if any_flag(not math.isfinite(value) or not loss.requires_grad, fabric):
            return value
        _zero_grads(optim, True)
        params = [*optim.estimator_params, *optim.main_params] if everything else optim.estimator_params
        _backward(loss, params, fabric)
    average_gradients(optim.estimator_params, fabric)
    _clip(params, clip)
    optim.estimator.step()
    _zero_grads(optim, True)
    return value
