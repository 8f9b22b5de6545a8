"""One sweep with the real trainer (``train_one``) on tiny synthetic data."""

from __future__ import annotations

from pathlib import Path

import pytest

from mifusion.sweeps.space import parse_search_space
from mifusion.sweeps.study import StorageSettings, load_study, open_storage
from mifusion.sweeps.worker import SweepPlan, run_worker

TINY = ["data.synth.n=80", "train.epochs=2", "train.batch_size=16", "train.device=cpu", "train.num_threads=1"]


@pytest.mark.slow
def test_sweep_with_real_train_one(tmp_path: Path) -> None:
    runner = pytest.importorskip("mifusion.experiments.runner", reason="the trainer is not importable")
    from mifusion.presets import resolve

    cfg = resolve("default", None, TINY)
    specs = parse_search_space({"train.lr": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True}})
    plan = SweepPlan(cfg, specs, "real", 2, pruner="median", sampler_seed=0)
    settings = StorageSettings(f"sqlite:///{tmp_path}/study.db", heartbeat_interval=2, grace_period=10)
    summary = run_worker(plan, settings, runner.train_one, tmp_path)
    assert summary.complete == 2 and summary.best_value is not None and summary.best_value > 0
    study = load_study(open_storage(settings), "real")
    trial = study.best_trial
    assert len(trial.intermediate_values) == 2  # one validation MAE reported per epoch
    assert trial.value == pytest.approx(min(trial.intermediate_values.values()), rel=1e-6)
    assert (tmp_path / "trials" / f"trial_{trial.number:04d}" / "seed_1111").is_dir()
