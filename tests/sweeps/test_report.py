"""The study report, the best config round trip and the multi-seed retrain."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from mifusion.config import ExperimentConfig, TrainConfig, load
from mifusion.errors import ConfigError
from mifusion.sweeps.report import retrain_best, write_report
from mifusion.sweeps.space import parse_search_space
from mifusion.sweeps.study import StorageSettings, load_or_create_study, load_study, open_storage
from mifusion.sweeps.toy import train_toy
from mifusion.sweeps.worker import SweepPlan, run_worker

SPACE = {
    "train.lr": {"type": "float", "low": 1e-4, "high": 1e-1, "log": True},
    "model.dropout": {"type": "float", "low": 0.0, "high": 0.5},
}


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> Any:
    run_dir = tmp_path_factory.mktemp("sweep")
    base = ExperimentConfig(train=TrainConfig(epochs=4, seeds=(7,)), search_space=SPACE)
    plan = SweepPlan(base, parse_search_space(SPACE), "r", 6, pruner="none", sampler_seed=0)
    settings = StorageSettings(f"sqlite:///{run_dir}/study.db", heartbeat_interval=1, grace_period=2)
    run_worker(plan, settings, train_toy, run_dir)
    return load_study(open_storage(settings), "r")


def test_report_files_and_best_config_round_trip(study: Any, tmp_path: Path) -> None:
    report = write_report(study, tmp_path, top=5)
    assert report.counts == {"COMPLETE": 6}
    assert report.best_value == pytest.approx(min(t.value for t in study.trials))
    cfg = load(report.best_config)  # what `mifusion train --config` reads
    assert cfg.train.lr == pytest.approx(report.best_params["train.lr"])
    assert cfg.model.dropout == pytest.approx(report.best_params["model.dropout"])
    assert cfg.search_space == {} and cfg.train.epochs == 4
    text = report.markdown.read_text(encoding="utf-8")
    assert f"## Best trial: {report.best_number}" in text and "test metrics were not read" in text
    rows = [line for line in text.splitlines() if line.startswith("| ") and line[2].isdigit()]
    assert len(rows) == 5 and rows[0].startswith(f"| 1 | {report.best_number} |")
    assert {p.name for p in report.plots} == {"history.png", "importances.png"}
    assert all(p.stat().st_size > 1000 for p in report.plots)
    assert set(report.importances) == {"train.lr", "model.dropout"}
    assert sum(report.importances.values()) == pytest.approx(1.0)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp files left


def test_report_on_empty_study_is_a_config_error(tmp_path: Path) -> None:
    storage = open_storage(StorageSettings(f"sqlite:///{tmp_path}/study.db"))
    empty = load_or_create_study(storage, "empty", "minimize")
    with pytest.raises(ConfigError, match="no complete trial"):
        write_report(empty, tmp_path / "report")


def test_retrain_best_uses_best_config_over_seeds(study: Any, tmp_path: Path) -> None:
    calls: list[ExperimentConfig] = []

    def fake_run_experiment(cfg: ExperimentConfig, out_dir: Path) -> Any:
        calls.append(cfg)
        summary = {"valid": {"mae": {"mean": 0.7, "std": 0.01}}, "test": {"mae": {"mean": 0.8, "std": 0.02}}}
        return SimpleNamespace(summary=summary)

    path = retrain_best(study, tmp_path, seeds=(1, 2, 3, 4, 5), run_experiment=fake_run_experiment)
    assert len(calls) == 1 and calls[0].train.seeds == (1, 2, 3, 4, 5)
    assert calls[0].train.lr == pytest.approx(study.best_params["train.lr"])
    text = path.read_text(encoding="utf-8")
    assert "| test | mae | 0.8000 | 0.0200 |" in text and "over 5 seeds" in text
