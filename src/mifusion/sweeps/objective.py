"""The trial objective: train, read the validation metric only, prune on its per-epoch curve.

The trainer is injected (``train_fn``, same signature as ``mifusion.experiments.runner.train_one``), so
sweeps are tested with a quick fake and run with the real trainer.

Example:
    >>> metric_direction("mae"), metric_direction("corr")
    ('minimize', 'maximize')
    >>> type(make_pruner("median")).__name__
    'MedianPruner'
"""

from __future__ import annotations

import dataclasses
import importlib
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from mifusion.config import ExperimentConfig, to_dict
from mifusion.errors import ConfigError
from mifusion.metrics import higher_is_better
from mifusion.sweeps.space import ParamSpec, apply_params, suggest

PRUNERS: tuple[str, ...] = ("median", "halving", "none")
DEFAULT_TRAINER = "mifusion.experiments.runner:train_one"

EpochCallback = Callable[[int, dict[str, float]], None]


class TrainFn(Protocol):
    """``train_one(cfg, out_dir, seed, epoch_callback) -> RunResult`` with ``.best_validation``."""

    def __call__(
        self, cfg: ExperimentConfig, out_dir: Path, seed: int, epoch_callback: EpochCallback | None = None
    ) -> Any: ...


@dataclass(frozen=True)
class ObjectiveSettings:
    """What a trial optimises: a validation metric, averaged over ``seeds``."""

    metric: str
    direction: str
    seeds: tuple[int, ...]


def metric_direction(metric: str) -> str:
    """Optuna's direction for ``metric``, read from :func:`mifusion.metrics.higher_is_better`."""
    return "maximize" if higher_is_better(metric) else "minimize"


def make_pruner(name: str, warmup_epochs: int = 1) -> Any:
    """Optuna's median pruner, successive halving, or none (``NopPruner``)."""
    import optuna

    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=warmup_epochs)
    if name == "halving":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=max(1, warmup_epochs))
    if name == "none":
        return optuna.pruners.NopPruner()
    raise ConfigError(f"unknown pruner {name!r}; use one of {', '.join(PRUNERS)}")


def load_trainer(spec: str = DEFAULT_TRAINER) -> TrainFn:
    """Imports a trainer given as ``module:function``, with a one-line error when it is missing."""
    module_name, _, attr = spec.partition(":")
    try:
        return getattr(importlib.import_module(module_name), attr or "train_one")
    except (ImportError, AttributeError) as err:
        raise ConfigError(f"cannot import trainer {spec!r} ({err}); give --trainer MODULE:FUNCTION") from None


def best_validation(result: Any) -> Mapping[str, float]:
    """The selected epoch's validation metrics of a trainer result (``best_validation`` or ``valid``)."""
    metrics = getattr(result, "best_validation", None)
    return metrics if metrics is not None else result.valid


def validation_value(best_validation: Mapping[str, float], metric: str, trial_number: int) -> float:
    """Reads ``metric`` from the validation metrics (never test), failing clearly when absent."""
    if metric not in best_validation:
        known = ", ".join(sorted(best_validation)) or "none"
        raise ConfigError(
            f"trial {trial_number}: validation metrics have no {metric!r} (got {known}); "
            "set train.select_metric to one of them"
        )
    return float(best_validation[metric])


def make_objective(
    base: ExperimentConfig,
    specs: Sequence[ParamSpec],
    train_fn: TrainFn,
    run_dir: Path,
    settings: ObjectiveSettings,
) -> Callable[[Any], float]:
    """The Optuna objective: sample, train each seed, return the mean best validation metric.

    Pruning reports the first seed's per-epoch validation metric; later seeds run only for trials that
    survived it. Test metrics are never read.
    """
    import optuna

    def objective(trial: optuna.Trial) -> float:
        params = suggest(trial, specs)
        cfg = apply_params(base, params)
        trial.set_user_attr("worker_pid", os.getpid())
        trial.set_user_attr("config", to_dict(cfg))
        values: list[float] = []
        for index, seed in enumerate(settings.seeds):

            def report(epoch: int, metrics: dict[str, float], first: bool = index == 0) -> None:
                if not first or settings.metric not in metrics:
                    return
                value = float(metrics[settings.metric])
                if math.isfinite(value):
                    trial.report(value, epoch)
                if trial.should_prune():
                    raise optuna.TrialPruned(f"pruned at epoch {epoch} ({settings.metric}={value:.4g})")

            out_dir = run_dir / "trials" / f"trial_{trial.number:04d}" / f"seed_{seed}"
            seeded = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, seeds=(seed,)))
            result = train_fn(seeded, out_dir, seed, report)
            values.append(validation_value(best_validation(result), settings.metric, trial.number))
        trial.set_user_attr("seed_values", values)
        return sum(values) / len(values)

    return objective
