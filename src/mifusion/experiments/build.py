"""Build the trainer from an experiment config: the one place that turns ``ExperimentConfig`` into
:class:`~mifusion.training.settings.TrainSettings`, optimisers and a launched Fabric."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from mifusion.config import ExperimentConfig
from mifusion.data.prepared import PreparedData
from mifusion.models.base import FusionModel
from mifusion.training.callbacks import Callback
from mifusion.training.distributed import launch
from mifusion.training.optim import build_optimizers
from mifusion.training.settings import TrainSettings
from mifusion.training.trainer import Trainer

if TYPE_CHECKING:
    from lightning_fabric import Fabric


def train_settings(cfg: ExperimentConfig) -> TrainSettings:
    """The trainer's settings from ``cfg.train`` and ``penalty.critic_steps`` (1 without a penalty)."""
    t = cfg.train
    return TrainSettings(
        epochs=t.epochs,
        batch_size=t.batch_size,
        eval_batch_size=t.eval_batch_size,
        clip_norm=t.clip_norm,
        clip_scope=t.clip_scope,
        critic_steps=cfg.penalty.critic_steps if cfg.penalty.estimator else 1,
        estimator_stage=t.estimator_stage,
        estimator_pass_fraction=t.estimator_pass_fraction,
        modality_dropout=t.modality_dropout,
        max_nonfinite_steps=t.max_nonfinite_steps,
        early_stopping_patience=t.early_stopping_patience,
        select_metric=t.select_metric,
        bucketing=t.bucketing,
        autocast=torch.bfloat16 if t.precision == "bf16-mixed" else None,
        ema_decay=t.ema_decay,
    )


def build_trainer(
    model: FusionModel,
    data: PreparedData,
    cfg: ExperimentConfig,
    seed: int,
    run_dir: Path | None = None,
    device: torch.device | str | None = None,
    callbacks: Sequence[Callback] = (),
    *,
    checkpoint_every: int | None = None,
    progress: bool = False,
    fabric: Fabric | None = None,
) -> Trainer:
    """A :class:`Trainer` for ``model`` as ``cfg`` configures it.

    Args:
        model: any registered FusionModel.
        data: prepared splits and spec.
        cfg: the experiment config (its train and penalty sections are read here).
        seed: the run's seed.
        run_dir: where checkpoints go; None keeps the best state in memory.
        device: the device when ``fabric`` is not given (default ``train.device``).
        callbacks: logging, pruning, profiling.
        checkpoint_every: also save ``last.pt`` every this many steps.
        progress: tqdm bars.
        fabric: a launched Fabric; None launches one from ``device`` and ``train.precision``.
    """
    from mifusion.evaluation.evaluate import compute, predict_split

    model.check_estimator_stage(cfg.train.estimator_stage)
    fabric = fabric or launch(str(device or cfg.train.device), cfg.train.precision)
    settings = train_settings(cfg)
    target = fabric.device

    def validate(trained: FusionModel) -> dict[str, float]:
        valid = predict_split(
            trained, data.dataset["valid"], data.spec.modalities, settings.eval_batch_size, target,
            autocast_dtype=settings.autocast,
        )  # fmt: skip
        return compute(valid.prediction, valid.label, data.spec)

    steps_per_epoch = -(-len(data.dataset["train"]) // settings.batch_size)  # the sampler's batches
    return Trainer(
        model, build_optimizers(model, cfg.train, steps_per_epoch), settings, callbacks,
        data=data, seed=seed, fabric=fabric, validate=validate, run_dir=run_dir,
        checkpoint_every=checkpoint_every, progress=progress,
    )  # fmt: skip
