"""What the trainer needs to know, as one typed value (built from the config by ``train_settings``)."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class TrainSettings:
    """The trainer's settings; see ``TrainConfig`` for each field's meaning.

    ``critic_steps`` comes from ``penalty.critic_steps`` (1 without a penalty) and ``autocast`` from
    ``train.precision`` (bfloat16 for "bf16-mixed", else None), so the trainer reads no config section.
    """

    epochs: int = 10
    batch_size: int = 32
    eval_batch_size: int = 128
    clip_norm: float | None = None
    clip_scope: str = "per_optimizer"
    critic_steps: int = 1
    estimator_stage: str = "efficient"
    estimator_pass_fraction: float = 1.0
    modality_dropout: float = 0.0
    max_nonfinite_steps: int = 10
    early_stopping_patience: int = 10
    select_metric: str = "mae"
    bucketing: bool = False
    longest_first: bool = True
    autocast: torch.dtype | None = None
    ema_decay: float | None = None
