"""The Beyond-Normal and consistency suites, intervals, summaries and heat maps (fast, default suite)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from mifusion.cli import main
from mifusion.estimators.beyond_normal import BEYOND_NORMAL
from mifusion.estimators.fitting import bootstrap_interval, still_rising
from mifusion.evaluation.estimator_check.consistency import (
    CONSISTENCY_TASKS,
    check_consistency,
    format_consistency,
    plot_consistency,
)
from mifusion.evaluation.estimator_check.entropy_check import format_entropy, run_entropy_check
from mifusion.evaluation.estimator_check.harness import build_estimator, lookup, run_one
from mifusion.evaluation.estimator_check.records import CheckConfig, Row
from mifusion.evaluation.estimator_check.suites import SUITES, reference_rows, run_suite
from mifusion.evaluation.estimator_check.summary import format_matrix, format_summary, plot_heatmap, summarise

FAST = CheckConfig(
    train_samples=256, heldout_samples=2000, batch_size=32, steps=15, seeds=1, options="defaults"
)


def test_bootstrap_interval_covers_the_mean_and_shrinks_with_more_batches() -> None:
    rng = np.random.default_rng(0)
    few, many = rng.normal(1.0, 0.2, size=8), rng.normal(1.0, 0.2, size=200)
    low, high = bootstrap_interval([few])
    assert low < few.mean() < high
    low_many, high_many = bootstrap_interval([many])
    assert low_many < 1.0 < high_many and high_many - low_many < high - low
    # two seeds that disagree: resampling the seeds widens the interval beyond either seed's own
    a, b = rng.normal(0.9, 0.01, size=50), rng.normal(1.1, 0.01, size=50)
    low2, high2 = bootstrap_interval([a, b])
    assert low2 < 0.95 and high2 > 1.05
    assert all(math.isnan(v) for v in bootstrap_interval([[1.0, float("nan")]]))


def test_still_rising() -> None:
    assert still_rising([(i, 0.1 * i) for i in range(1, 10)], (0.5, 0.6))
    assert not still_rising([(i, 1.0) for i in range(1, 10)], (0.95, 1.05))


def test_defaults_build_with_no_options_and_protocol_with_the_task_options() -> None:
    task = BEYOND_NORMAL["1v1-normal-0.75"]
    default = build_estimator("ba", lookup("ba"), task, FAST)
    protocol = build_estimator("ba", lookup("ba"), task, CheckConfig(options="protocol"))
    assert default.entropy_y is None and protocol.entropy_y == pytest.approx(task.entropy_y)
    assert build_estimator("mine", lookup("mine"), task, FAST).train_objective == "own"


@pytest.mark.parametrize("name", ["ksg", "cca"])
def test_classical_rows_use_held_out_blocks(name: str) -> None:
    run = run_one(name, lookup(name), BEYOND_NORMAL["multinormal-sparse-2-2-2-2.0"], 0, FAST)
    assert len(run.batch_estimates) == 2 and run.estimate == pytest.approx(np.mean(run.batch_estimates))
    assert abs(run.estimate - 1.0217) < 0.15


def test_run_suite_grades_defaults_and_labels_the_task_options_rows() -> None:
    tasks = [BEYOND_NORMAL["1v1-normal-0.75"], BEYOND_NORMAL["1v1-additive-0.75"]]
    report = run_suite(["cca", "nwj"], tasks, FAST, task_options=True)
    labels = {(r.estimator, r.options) for r in report.rows}
    assert labels == {("cca", "defaults"), ("nwj", "defaults"), ("nwj", "protocol")}
    for row in report.rows:
        assert row.ci_low <= row.mean <= row.ci_high
    names = [s.estimator for s in summarise(report.rows)]
    assert names == ["cca", "nwj", "nwj [per-task options]"]
    cca = next(s for s in summarise(report.rows) if s.estimator == "cca")
    assert cca.graded == 2 and not math.isnan(cca.mean_abs_bias)
    assert "| nwj [per-task options] |" in format_summary(report.rows)
    assert (
        format_matrix(report.rows).splitlines()[0] == "| task | truth | cca | nwj | nwj [per-task options] |"
    )


def _rows(means: dict[str, float], name: str = "x") -> list[Row]:
    return [
        Row(task, name, "mi", CONSISTENCY_TASKS[task].truth, None, m, 0.0, None, "", 0.0, options="defaults")
        for task, m in means.items()
    ]


GOOD = {
    "indep-5x5": 0.01,
    "dpi-full": 1.0,
    "dpi-lossy": 0.5,
    "add-pair1": 0.4,
    "add-pair2": 0.33,
    "add-joint": 0.74,
}


@pytest.mark.parametrize(
    ("change", "failing"),
    [
        ({}, None),
        ({"indep-5x5": 0.2}, "independent_ok"),
        ({"dpi-lossy": 1.2}, "processing_ok"),
        ({"add-joint": 0.5}, "additive_ok"),
        ({"add-joint": float("nan")}, "additive_ok"),
    ],
)
def test_consistency_checks_pass_and_fail(change: dict[str, float], failing: str | None) -> None:
    (check,) = check_consistency(_rows({**GOOD, **change}))
    assert check.passed is (failing is None)
    if failing:
        assert not getattr(check, failing)
    assert "| x |" in format_consistency([check])


def test_consistency_truths() -> None:
    assert CONSISTENCY_TASKS["indep-5x5"].truth == 0.0
    assert CONSISTENCY_TASKS["dpi-lossy"].truth == pytest.approx(-0.5 * math.log(1 - 0.64))
    joint = CONSISTENCY_TASKS["add-joint"]
    assert joint.truth == pytest.approx(
        CONSISTENCY_TASKS["add-pair1"].truth + CONSISTENCY_TASKS["add-pair2"].truth
    )
    # the pairs are the joint's own columns (same draws)
    x, y = joint.sample_arrays(10, np.random.default_rng(3))
    x1, y1 = CONSISTENCY_TASKS["add-pair1"].sample_arrays(10, np.random.default_rng(3))
    assert np.array_equal(x[:, :1], x1) and np.array_equal(y[:, :1], y1)


def test_plots_are_written(tmp_path: Path) -> None:
    rows = _rows(GOOD) + _rows({k: v * 1.5 for k, v in GOOD.items()}, "y")
    plot_heatmap(rows, tmp_path / "heat.png")
    plot_consistency(check_consistency(rows), tmp_path / "consistency.png")
    assert (tmp_path / "heat.png").stat().st_size > 1000 and (
        tmp_path / "consistency.png"
    ).stat().st_size > 1000


def test_reference_rows_are_graded_like_ours(tmp_path: Path) -> None:
    path = tmp_path / "ref.json"
    path.write_text(
        '[{"task": "1v1-normal-0.75", "estimator": "pkg-mine", "seed": 0, "estimate": 0.40, "seconds": 1.0},'
        ' {"task": "1v1-additive-0.75", "estimator": "pkg-mine", "seed": 0, "estimate": null, "seconds": 1.0}]'
    )
    rows = reference_rows(path, [BEYOND_NORMAL["1v1-normal-0.75"], BEYOND_NORMAL["1v1-additive-0.75"]])
    assert [(r.passed, r.options) for r in rows] == [(True, "package"), (False, "package")]


def test_suites_name_their_tasks() -> None:
    assert len(SUITES["beyond-normal"].tasks) == 40 and SUITES["beyond-normal"].options == "defaults"
    assert set(SUITES["consistency"].tasks) == set(CONSISTENCY_TASKS)


def test_cli_beyond_normal_and_consistency(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    argv = ["estimators", "check", "--suite", "beyond-normal", "--estimators", "ksg", "cca", "--workers", "1"]
    argv += ["--tasks", "1v1-normal-0.75", "student-identity-2-2-1", "--heldout", "1000", "--samples", "64"]
    argv += ["--heatmap", str(tmp_path / "heat.png")]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "| estimator | pass / graded | mean abs bias (nats) | diverged | wall s |" in out
    assert (tmp_path / "heat.png").is_file()
    argv = ["estimators", "check", "--suite", "consistency", "--estimators", "cca", "--workers", "1"]
    argv += ["--heldout", "1000", "--samples", "64", "--plot", str(tmp_path / "c.png")]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "| cca | " in out and "data processing" in out and (tmp_path / "c.png").is_file()


def test_cli_suite_mistakes_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["estimators", "check", "--task-options"]) == 2
    assert "already runs with per-task options" in capsys.readouterr().err
    heat = tmp_path / "heat.png"
    argv = ["estimators", "check", "--suite", "beyond-normal", "--reference-json", "missing.json"]
    assert main([*argv, "--heatmap", str(heat)]) == 2
    assert "no such file" in capsys.readouterr().err and not heat.exists()
    assert main(["estimators", "check", "--suite", "beyond-normal", "--estimators", "nope"]) == 2


def test_label_split_entropy_against_mixture_truths() -> None:
    """Exact (within tolerance) on separated groups; too high by H(G | Y) when the groups overlap."""
    rows = {r.task: r for r in run_entropy_check(batches=30)}
    separated, overlapping = rows["mix-2d-separated"], rows["mix-2d-overlapping"]
    assert separated.truth == pytest.approx(math.log(2 * math.pi * math.e) + math.log(2), abs=0.01)
    assert separated.passed and rows["mix-3d-unbalanced"].passed
    assert not overlapping.passed
    assert overlapping.estimate - overlapping.truth == pytest.approx(overlapping.label_uncertainty, abs=0.06)
    assert "| mix-2d-overlapping |" in format_entropy(list(rows.values()))


def test_cli_entropy_suite(capsys: pytest.CaptureFixture) -> None:
    assert main(["estimators", "check", "--suite", "entropy"]) == 0
    assert "2/3 mixtures within" in capsys.readouterr().out
    assert main(["estimators", "check", "--suite", "entropy", "--fail-on-miss"]) == 1
    assert main(["estimators", "check", "--suite", "entropy", "--tasks", "x"]) == 2


def test_cli_from_json_merges_reports_and_package_rows(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    base = ["estimators", "check", "--suite", "beyond-normal", "--workers", "1", "--tasks", "1v1-normal-0.75"]
    base += ["--heldout", "1000", "--samples", "64"]
    assert main([*base, "--estimators", "cca", "--json", str(tmp_path / "a.json")]) == 0
    package = tmp_path / "pkg.json"
    package.write_text(
        '[{"task": "1v1-normal-0.75", "estimator": "benchmark-mi mine", "seed": 0, "estimate": 0.41}]'
    )
    capsys.readouterr()
    argv = [*base, "--from-json", "--reference-json", str(tmp_path / "a.json"), str(package)]
    assert main([*argv, "--heatmap", str(tmp_path / "h.png")]) == 0
    out = capsys.readouterr().out
    assert "| task | truth | cca | benchmark-mi mine |" in out and (tmp_path / "h.png").is_file()
    assert main([*base, "--from-json"]) == 2
