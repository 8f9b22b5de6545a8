"""evaluate, robustness, predict and explain cover every seed of a multi-seed run directory."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from mifusion.config import ExperimentConfig, from_dict
from mifusion.errors import DataError
from mifusion.evaluation.statistics_network import FitSettings
from mifusion.experiments.commands import evaluate_run, predict_file
from mifusion.experiments.explain import explain_run
from mifusion.experiments.runner import run_experiment


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cfg = from_dict(ExperimentConfig, {
        "data": {"modalities": ["audio", "vision"], "synth": {"n": 150}},
        "model": {"name": "lf_dnn", "hidden_dim": 16},
        "train": {"epochs": 2, "batch_size": 16, "device": "cpu", "seeds": [1, 2]},
    })  # fmt: skip
    out = tmp_path_factory.mktemp("multiseed") / "run"
    run_experiment(cfg, out)
    return out


def _saved(run_dir: Path) -> dict[int, dict[str, float]]:
    runs = json.loads((run_dir / "results.json").read_text())["runs"]
    return {r["seed"]: r["test"] for r in runs}


def test_evaluate_gives_every_seed_and_mean_std(run_dir: Path) -> None:
    report = evaluate_run(run_dir, None)
    saved = _saved(run_dir)
    seeds = {row["seed"]: row for row in report.data["seeds"]}
    assert sorted(seeds) == [1, 2]
    for seed, metrics in saved.items():  # the same numbers the trainer measured on each seed
        assert seeds[seed]["mae"] == pytest.approx(metrics["mae"], abs=1e-5)
    mae = [saved[1]["mae"], saved[2]["mae"]]
    summary = report.data["summary"]["mae"]
    assert summary["mean"] == pytest.approx(np.mean(mae), abs=1e-5)
    assert summary["std"] == pytest.approx(np.std(mae, ddof=1), abs=1e-5)
    assert "| seed 1 |" in report.text and "| seed 2 |" in report.text and "| mean ± std |" in report.text


def test_robustness_averages_deltas_over_seeds(run_dir: Path) -> None:
    data = evaluate_run(run_dir, None, robustness=True).data
    per_seed = data["per_seed"]
    assert {r["seed"] for r in per_seed} == {1, 2}
    for row in data["conditions"]:
        group = [
            r for r in per_seed if (r["condition"], r["definition"]) == (row["condition"], row["definition"])
        ]
        assert len(group) == 2
        assert row["delta_mae"] == pytest.approx(np.mean([r["delta_mae"] for r in group]), abs=1e-9)
    assert data["conditions"][0]["delta_mae"] == 0.0
    assert "±" in (run_dir / "robustness" / "robustness.md").read_text()
    for seed in (1, 2):
        assert (run_dir / f"seed_{seed}" / "robustness" / "robustness.png").exists()


def test_predict_is_the_mean_over_seeds_or_one_seed(run_dir: Path, tmp_path: Path) -> None:
    from mifusion.data.safe_format import save_safe
    from mifusion.data.synthetic import generate

    save_safe(generate("mosi", n=150, seed=0), tmp_path / "data")

    def predictions(seed: int | None) -> np.ndarray:
        out = tmp_path / f"pred_{seed}.csv"
        predict_file(run_dir, str(tmp_path / "data"), out, seed=seed)
        with out.open() as handle:
            return np.array([float(r["prediction"]) for r in csv.DictReader(handle)])

    one, two = predictions(1), predictions(2)
    assert not np.allclose(one, two)
    np.testing.assert_allclose(predictions(None), (one + two) / 2, atol=1e-6)
    with pytest.raises(DataError, match="no seed 3"):
        predictions(3)


def test_explain_reports_every_seed(run_dir: Path) -> None:
    text = explain_run(run_dir, top=2, settings=FitSettings(steps=30))
    assert "| 1 | refit |" in text and "| 2 | refit |" in text and "| mean ± std | refit |" in text
    assert "| 1 | penalty |" not in text  # no penalty in this run: the refitted network only
    assert (run_dir / "explain" / "report.md").exists()
    for seed in (1, 2):
        assert (run_dir / f"seed_{seed}" / "explain" / "scores.png").exists()


def test_mismatched_checkpoint_is_a_one_line_error(run_dir: Path, tmp_path: Path) -> None:
    import shutil

    from mifusion.errors import ConfigError
    from mifusion.experiments.run import load_run
    from mifusion.training.checkpoint import load_checkpoint, save_checkpoint

    folder = tmp_path / "seed_1"
    shutil.copytree(run_dir / "seed_1", folder)
    state = load_checkpoint(folder / "best.pt")
    state["model"].pop(next(iter(state["model"])))
    save_checkpoint(folder / "best.pt", state)
    with pytest.raises(ConfigError, match="retrain the run"):
        load_run(folder)
