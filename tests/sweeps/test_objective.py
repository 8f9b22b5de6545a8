"""The trial objective: validation only, seed averaging, pruning on the per-epoch curve."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import optuna
import pytest

from mifusion.config import ExperimentConfig, TrainConfig
from mifusion.errors import ConfigError
from mifusion.sweeps.objective import ObjectiveSettings, make_objective, make_pruner, metric_direction
from mifusion.sweeps.space import parse_search_space
from mifusion.sweeps.study import StorageSettings
from mifusion.sweeps.toy import train_toy
from mifusion.sweeps.worker import SweepPlan, run_worker

SPACE = parse_search_space({"train.lr": {"type": "float", "low": 1e-4, "high": 1e-1, "log": True}})


@dataclass
class GuardedResult:
    """A trainer result whose test metrics must never be read by the search."""

    valid: dict[str, float]

    @property
    def test(self) -> dict[str, float]:
        raise AssertionError("the sweep read test metrics")


def test_objective_reads_validation_only_and_averages_seeds(tmp_path: Path) -> None:
    seen: list[int] = []

    def train(cfg: ExperimentConfig, out_dir: Path, seed: int, cb: Callable | None = None) -> GuardedResult:
        seen.append(seed)
        assert cfg.train.seeds == (seed,)
        return GuardedResult(valid={"mae": cfg.train.lr * 100 + seed})

    settings = ObjectiveSettings("mae", "minimize", seeds=(1, 3))
    objective = make_objective(ExperimentConfig(), SPACE, train, tmp_path, settings)
    study = optuna.create_study()
    study.enqueue_trial({"train.lr": 0.01})
    study.optimize(objective, n_trials=1)
    assert seen == [1, 3]
    assert study.best_value == pytest.approx(1.0 + 2.0)
    assert study.best_trial.user_attrs["seed_values"] == pytest.approx([2.0, 4.0])


def test_missing_validation_metric_is_a_config_error(tmp_path: Path) -> None:
    def train(cfg: ExperimentConfig, out_dir: Path, seed: int, cb: Callable | None = None) -> GuardedResult:
        return GuardedResult(valid={"corr": 0.5})

    objective = make_objective(
        ExperimentConfig(), SPACE, train, tmp_path, ObjectiveSettings("mae", "minimize", (0,))
    )
    with pytest.raises(ConfigError, match=r"no 'mae'.*corr"):
        optuna.create_study().optimize(objective, n_trials=1, catch=())


def test_metric_direction() -> None:
    assert [metric_direction(m) for m in ("mae", "loss", "corr", "acc2_non0", "f1_has0")] == [
        "minimize", "minimize", "maximize", "maximize", "maximize",
    ]  # fmt: skip


@pytest.mark.parametrize("pruner", ["median", "halving"])
def test_pruner_stops_bad_trials_before_the_last_epoch(tmp_path: Path, pruner: str) -> None:
    cfg = ExperimentConfig(train=TrainConfig(epochs=8))
    objective = make_objective(cfg, SPACE, train_toy, tmp_path, ObjectiveSettings("mae", "minimize", (0,)))
    study = optuna.create_study(pruner=make_pruner(pruner), sampler=optuna.samplers.TPESampler(seed=0))
    study.optimize(objective, n_trials=30)
    pruned = [t for t in study.trials if t.state.name == "PRUNED"]
    assert pruned and all(max(t.intermediate_values) < cfg.train.epochs - 1 for t in pruned)
    assert study.best_value < 0.75


def test_worker_summary_counts_pruned_trials(tmp_path: Path) -> None:
    plan = SweepPlan(ExperimentConfig(train=TrainConfig(epochs=6)), SPACE, "p", 6, sampler_seed=0)
    settings = StorageSettings(f"sqlite:///{tmp_path}/study.db", heartbeat_interval=1, grace_period=2)
    summary = run_worker(plan, settings, train_toy, tmp_path)
    assert summary.complete + summary.pruned == 6 and summary.failed == 0 and summary.pruned > 0
    assert summary.trials_run == summary.complete + summary.pruned
    from mifusion.sweeps.study import load_study, open_storage

    study = load_study(open_storage(settings), "p")
    assert sum(t.state.name == "PRUNED" for t in study.trials) == summary.pruned
