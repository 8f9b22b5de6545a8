"""A quick synthetic trainer with the ``train_one`` signature, for tests and smoke runs of sweeps.

Its validation MAE falls over epochs towards a floor set by ``train.lr`` (best at 3e-3) and
``model.dropout`` (best at 0.1), plus seeded noise. ``model.options.toy_epoch_seconds`` makes each epoch
sleep, so a test can kill a worker mid-trial. It never touches data and has no test split.

Example:
    >>> from mifusion.config import ExperimentConfig
    >>> result = train_toy(ExperimentConfig(), Path("unused"), seed=0)
    >>> len(result.validation_history) == ExperimentConfig().train.epochs, result.best_validation["mae"] > 0
    (True, True)
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from mifusion.config import ExperimentConfig

BEST_LR = 3e-3
BEST_DROPOUT = 0.1


@dataclass(frozen=True)
class ToyResult:
    """What the sweep reads from a trainer: per-epoch and best validation metrics."""

    best_validation: dict[str, float]
    validation_history: list[dict[str, float]] = field(default_factory=list)


def toy_floor(lr: float, dropout: float) -> float:
    """The MAE the toy converges to: 0.6 at the optimum, higher away from it."""
    return 0.6 + 0.3 * math.log10(lr / BEST_LR) ** 2 + 2.0 * (dropout - BEST_DROPOUT) ** 2


def train_toy(
    cfg: ExperimentConfig,
    out_dir: Path,
    seed: int,
    epoch_callback: Callable[[int, dict[str, float]], None] | None = None,
) -> ToyResult:
    """Simulates training: ``cfg.train.epochs`` epochs of a decaying validation MAE."""
    rng = random.Random(seed)
    floor = toy_floor(cfg.train.lr, cfg.model.dropout)
    sleep_s = float(cfg.model.options.get("toy_epoch_seconds", 0.0))
    history: list[dict[str, float]] = []
    for epoch in range(cfg.train.epochs):
        if sleep_s > 0:
            time.sleep(sleep_s)
        mae = floor + 1.5 * math.exp(-0.7 * epoch) + 0.01 * rng.random()
        metrics = {"mae": mae, "corr": max(-1.0, 1.0 - mae)}
        history.append(metrics)
        if epoch_callback is not None:
            epoch_callback(epoch, metrics)
    best = min(history, key=lambda m: m["mae"]) if history else {"mae": float("inf"), "corr": 0.0}
    return ToyResult(best_validation=dict(best), validation_history=history)
