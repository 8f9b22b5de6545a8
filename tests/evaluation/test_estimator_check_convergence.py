"""Convergence of the registered estimators against ground truth under the check's protocol (slow).

The reduced set (marked ``ci``) trains a few estimators on the 1x1 Gaussian and the Cauchy-tailed
Student-t task (and Barber-Agakov's mixture q on the uniform task); the full test runs the default check and asserts every graded row and Wasserstein check.
"""

from __future__ import annotations

import pytest

from mifusion.estimators.base import ESTIMATORS
from mifusion.estimators.ground_truth import DEFAULT_TASKS, get_task
from mifusion.evaluation.estimator_check.harness import CheckConfig, load_estimators, run_check
from mifusion.evaluation.estimator_check.report import wasserstein_checks

REDUCED = CheckConfig(seeds=1)  # the default protocol with one seed
REDUCED_CASES = [
    (name, task)
    for name in ("dv", "nwj", "smile", "js", "infonce")
    for task in ("gauss-1d-rho0.75", "student-t-1d-nu1")
] + [
    ("ba", "gauss-1d-rho0.75"),
    ("ba", "student-t-1d-nu1"),  # Student-t q on the Student-t task
    ("ba", "uniform-eps0.25"),  # mixture q on the boxcar conditional
]


@pytest.fixture(scope="module")
def registered() -> None:
    load_estimators()


@pytest.mark.slow
@pytest.mark.ci
@pytest.mark.parametrize(("name", "task_name"), REDUCED_CASES)
def test_reduced_set_meets_targets(registered: None, name: str, task_name: str) -> None:
    if name not in ESTIMATORS:
        pytest.skip(f"estimator {name!r} is not registered")
    report = run_check({name: ESTIMATORS.get(name)}, [get_task(task_name)], REDUCED)
    (row,) = report.rows
    assert row.passed, f"{name} on {task_name}: {row.mean:.4f} vs target {row.target} ({row.note})"


@pytest.mark.slow
def test_default_check_meets_targets(registered: None) -> None:
    entries = {name: ESTIMATORS.get(name) for name in ESTIMATORS.names()}
    report = run_check(entries, [get_task(t) for t in DEFAULT_TASKS], CheckConfig(), workers=2)
    failed = [f"{r.estimator}/{r.task}: {r.mean:.3f} vs {r.target}" for r in report.rows if r.passed is False]
    failed += [
        f"{c.estimator}: Wasserstein check"
        for c in wasserstein_checks(report.rows, report.runs)
        if not c.passed
    ]
    assert not failed, "; ".join(failed)
