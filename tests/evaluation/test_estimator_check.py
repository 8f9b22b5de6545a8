"""The ground-truth check harness on tiny estimators defined here (fast, default suite)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from torch import Tensor, nn

from mifusion.cli import main
from mifusion.estimators.base import ESTIMATORS, Bound, EstimatorEntry, MIEstimator, MIOutput
from mifusion.estimators.ground_truth import TASKS
from mifusion.evaluation.estimator_check.grading import grade
from mifusion.evaluation.estimator_check.harness import CheckConfig, Row, RunResult, run_check, run_one
from mifusion.evaluation.estimator_check.report import (
    format_table,
    plot_curves,
    wasserstein_checks,
    write_json,
)

TINY = CheckConfig(train_samples=512, heldout_samples=256, batch_size=64, steps=150, seeds=2, lr=5e-3)


class TinyDV(MIEstimator):
    """A minimal Donsker-Varadhan estimator: MLP critic on concatenated rows, rolled negatives."""

    bound = Bound.LOWER

    def __init__(self, x_dim: int, y_dim: int, hidden_dim: int = 16, num_layers: int = 1) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(x_dim + y_dim, hidden_dim), nn.ReLU(), nn.Linear(hidden_dim, 1))

    def forward(self, x: Tensor, y: Tensor) -> MIOutput:
        joint = self.net(torch.cat([x, y], -1))[:, 0]
        marginal = self.net(torch.cat([x, y.roll(1, 0)], -1))[:, 0]
        estimate = joint.mean() - (torch.logsumexp(marginal, 0) - math.log(len(marginal)))
        return MIOutput(estimate, -estimate)


class Constant(MIEstimator):
    """Reports a fixed value (or NaN) through a trainable parameter."""

    bound = Bound.LOWER

    def __init__(self, value: float) -> None:
        super().__init__()
        self.value = nn.Parameter(torch.tensor(value))

    def forward(self, x: Tensor, y: Tensor) -> MIOutput:
        return MIOutput(self.value * 1.0, self.value * 0.0)


def tiny_entry(
    x_dim: int, y_dim: int, *, hidden_dim: int = 128, num_layers: int = 2, **_: object
) -> MIEstimator:
    return TinyDV(x_dim, y_dim, hidden_dim=16)


def constant_entry(value: float, measures: str = "mi", bound: Bound = Bound.LOWER) -> EstimatorEntry:
    return EstimatorEntry(lambda x_dim, y_dim, **_: Constant(value), bound, measures)


def test_tiny_estimator_converges_near_truth() -> None:
    task = TASKS["gauss-1d-rho0.9"]
    run = run_one("tiny", EstimatorEntry(tiny_entry, Bound.LOWER), task, 0, TINY)
    assert not run.diverged and run.ms_per_step > 0
    assert run.estimate == pytest.approx(task.truth, abs=0.3)
    assert run.curve[-1][0] == TINY.steps and len(run.curve) >= 2


def test_report_grades_exact_and_wrong_estimates() -> None:
    task = TASKS["gauss-1d-rho0.75"]
    entries = {
        "exact": constant_entry(task.truth),
        "off": constant_entry(task.truth + 0.2),
        "nan": constant_entry(math.nan),
    }
    report = run_check(
        entries, [task], CheckConfig(train_samples=64, heldout_samples=64, batch_size=32, steps=3)
    )
    results = {r.estimator: r for r in report.rows}
    assert results["exact"].passed is True and results["exact"].bias == pytest.approx(0.0, abs=1e-6)
    assert results["off"].passed is False and results["off"].bias == pytest.approx(0.2, abs=1e-6)
    assert results["nan"].passed is False and "diverged" in results["nan"].note
    assert len(report.runs) == 3 * 2  # two seeds each


def test_tolerance_is_max_of_absolute_and_relative() -> None:
    config = CheckConfig()
    task = TASKS["gauss-dense-25d"]  # truth 1.29 nats: tolerance 0.129
    runs = [RunResult("dv", task.name, 0, task.truth - 0.1, 1.0, False)]
    assert grade("dv", constant_entry(0.0), task, runs, config, None).passed is True
    runs = [RunResult("dv", task.name, 0, task.truth - 0.14, 1.0, False)]
    assert grade("dv", constant_entry(0.0), task, runs, config, None).passed is False


def test_infonce_is_compared_with_log_batch() -> None:
    task = TASKS["gauss-dense-25d"]
    config = CheckConfig(batch_size=2)  # log 2 = 0.69 < truth 1.29
    runs = [RunResult("infonce", task.name, 0, math.log(2) - 0.01, 1.0, False)]
    row = grade("infonce", constant_entry(0.0), task, runs, config, None)
    assert row.target == pytest.approx(math.log(2)) and row.passed is True


def test_js_is_graded_in_jsd_nats() -> None:
    task = TASKS["gauss-1d-rho0.75"]
    dim_value = 2 * 0.1076 - math.log(4.0)  # Deep InfoMax value of JSD 0.1076
    good = [RunResult("js", task.name, 0, 0.105, 1.0, False)]
    bad = [RunResult("js", task.name, 0, 0.08, 1.0, False)]
    assert grade("js", constant_entry(0.0, "js"), task, good, CheckConfig(), dim_value).passed is True
    assert grade("js", constant_entry(0.0, "js"), task, bad, CheckConfig(), dim_value).passed is False


def test_two_variable_estimator_is_skipped_on_three_variable_task() -> None:
    report = run_check({"tiny": EstimatorEntry(tiny_entry, Bound.LOWER)}, [TASKS["tc-gauss-3x1"]], TINY)
    assert report.rows[0].passed is None and report.rows[0].note == "skipped"


def test_wasserstein_checks_need_zero_and_monotone() -> None:
    rows = [
        Row(task, "w", "wasserstein", None, None, mean, 0.001, None, "", 1.0)
        for task, mean in zip(
            ("gauss-1d-rho0", "gauss-1d-rho0.5", "gauss-1d-rho0.75", "gauss-1d-rho0.9"), (0.0, 0.1, 0.3, 0.2)
        )
    ]
    runs = [RunResult("w", "gauss-1d-rho0", 0, 0.0, 1.0, False, diagnostics={"gradient_norm_joint": 0.9})]
    (check,) = wasserstein_checks(rows, runs)
    assert check.zero_at_independence and not check.monotone and not check.passed
    assert check.max_gradient_norm == pytest.approx(0.9)


def test_json_table_and_plot(tmp_path: Path) -> None:
    entries = {"tiny": EstimatorEntry(tiny_entry, Bound.LOWER)}
    config = CheckConfig(train_samples=128, heldout_samples=128, batch_size=32, steps=20, seeds=1)
    report = run_check(entries, [TASKS["gauss-1d-rho0.5"], TASKS["student-t-1d-nu1"]], config)
    write_json(report, tmp_path / "out" / "check.json")
    data = json.loads((tmp_path / "out" / "check.json").read_text())
    assert {r["task"] for r in data["rows"]} == {"gauss-1d-rho0.5", "student-t-1d-nu1"}
    assert data["config"]["steps"] == 20 and data["runs"][0]["curve"]
    table = format_table(report.rows)
    assert table.count("\n") == 3 and "| tiny |" in table
    plot_curves(report, tmp_path / "curves.png")
    assert (tmp_path / "curves.png").stat().st_size > 1000


def test_cli_check_writes_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setattr(ESTIMATORS, "_items", {"tiny": EstimatorEntry(tiny_entry, Bound.LOWER)})
    monkeypatch.setattr("mifusion.evaluation.estimator_check.harness.load_estimators", lambda: None)
    out = tmp_path / "check.json"
    argv = ["estimators", "check", "--tasks", "gauss-1d-rho0.5", "--steps", "20", "--seeds", "1"]
    argv += [
        "--samples",
        "256",
        "--heldout",
        "128",
        "--batch-size",
        "32",
        "--workers",
        "1",
        "--json",
        str(out),
    ]
    assert main(argv) == 0
    assert "| gauss-1d-rho0.5 | 0.1438 | tiny |" in capsys.readouterr().out
    assert json.loads(out.read_text())["rows"][0]["estimator"] == "tiny"


def test_cli_rejects_bad_input(capsys: pytest.CaptureFixture) -> None:
    assert main(["estimators", "check", "--tasks", "nope"]) == 2
    assert "unknown task 'nope'" in capsys.readouterr().err
    assert main(["estimators", "check", "--steps", "0"]) == 2


def test_cli_lists_tasks(capsys: pytest.CaptureFixture) -> None:
    assert main(["estimators", "tasks", "--json"]) == 0
    names = {t["name"] for t in json.loads(capsys.readouterr().out)}
    assert set(TASKS) == names
