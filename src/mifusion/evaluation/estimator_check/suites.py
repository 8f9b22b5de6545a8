"""The check's suites: which tasks, which estimators, which options, and the package's reference rows.

- ``ground-truth`` (the original check): the 12 default tasks of :mod:`mifusion.estimators.ground_truth`,
  every registered estimator, with the per-task options of ``harness.task_options``.
- ``beyond-normal``: the 40 tasks of :mod:`mifusion.estimators.beyond_normal`, the MI estimators with
  their **registry defaults** (``builder(*dims)``, nothing else) and the classical KSG and CCA; with
  ``task_options=True`` the estimators that have per-task options run a second time with them, as
  separately labelled rows.
- ``consistency``: the six tasks of :mod:`~mifusion.evaluation.estimator_check.consistency`, defaults.

Example:
    >>> SUITES["beyond-normal"].estimators[-2:]
    ('ksg', 'cca')
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mifusion.errors import ConfigError
from mifusion.estimators.beyond_normal import BEYOND_NORMAL
from mifusion.estimators.ground_truth import DEFAULT_TASKS, Task
from mifusion.evaluation.estimator_check.consistency import CONSISTENCY_TASKS
from mifusion.evaluation.estimator_check.grading import ABS_TOLERANCE, REL_TOLERANCE
from mifusion.evaluation.estimator_check.harness import CheckReport, lookup, run_check
from mifusion.evaluation.estimator_check.records import CheckConfig, Row, RunResult, has_task_options

MI_ESTIMATORS = ("ba", "club", "dv", "mine", "infonce", "nwj", "smile", "ksg", "cca")


@dataclass(frozen=True)
class Suite:
    """Default tasks, estimators (None: every registered one) and options of a suite."""

    tasks: tuple[str, ...]
    estimators: tuple[str, ...] | None
    options: str
    config: CheckConfig


SUITES: dict[str, Suite] = {
    "ground-truth": Suite(DEFAULT_TASKS, None, "protocol", CheckConfig()),
    "beyond-normal": Suite(
        tuple(BEYOND_NORMAL),
        MI_ESTIMATORS,
        "defaults",
        CheckConfig(train_samples=5_000, heldout_samples=5_000, options="defaults"),
    ),
    "consistency": Suite(
        tuple(CONSISTENCY_TASKS),
        MI_ESTIMATORS,
        "defaults",
        CheckConfig(train_samples=5_000, heldout_samples=5_000, seeds=1, options="defaults"),
    ),
}


def run_suite(
    names: Sequence[str],
    tasks: Sequence[Task],
    config: CheckConfig,
    *,
    task_options: bool = False,
    workers: int = 1,
    progress: Callable[[RunResult], None] | None = None,
) -> CheckReport:
    """Runs ``names`` on ``tasks`` with ``config``; with ``task_options`` (and ``config.options`` being
    "defaults") the estimators that have per-task options run again with them, as extra rows."""
    entries = {name: lookup(name) for name in names}
    report = run_check(entries, tasks, config, progress=progress, workers=workers)
    tuned = [n for n in names if has_task_options(n)]
    if task_options and config.options == "defaults" and tuned:
        extra = run_check(
            {n: entries[n] for n in tuned},
            tasks,
            dataclasses.replace(config, options="protocol"),
            progress=progress,
            workers=workers,
        )
        report = CheckReport(
            config,
            report.runs + extra.runs,
            report.rows + extra.rows,
            report.wall_seconds + extra.wall_seconds,
        )
    return report


def reference_rows(path: str | Path, tasks: Sequence[Task]) -> list[Row]:
    """Rows of another implementation's estimates, graded with the same tolerance (``options="package"``),
    or the rows of an earlier check's ``--json`` report (as they were graded).

    The JSON (``benchmarks/beyond_normal_package.py``) is a list of ``{"task", "estimator", "seed",
    "estimate", "seconds"}``; estimates of tasks not in ``tasks`` are left out.
    """
    try:
        records = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ConfigError(f"{path}: {err}") from err
    if isinstance(records, dict) and "rows" in records:  # a check's own --json report
        fields = {f.name for f in dataclasses.fields(Row)}
        names = {t.name for t in tasks}
        return [
            Row(**{k: v for k, v in r.items() if k in fields}) for r in records["rows"] if r["task"] in names
        ]
    by_name = {t.name: t for t in tasks}
    rows = []
    for estimator in dict.fromkeys(r["estimator"] for r in records):
        for name, task in by_name.items():
            mine = [r for r in records if r["estimator"] == estimator and r["task"] == name]
            if not mine:
                continue
            values = np.array([r["estimate"] if r["estimate"] is not None else math.nan for r in mine], float)
            mean = float(values.mean())
            if not math.isfinite(mean):
                passed, note = False, "diverged (NaN/inf)"
            else:
                passed, note = abs(mean - task.truth) <= max(ABS_TOLERANCE, REL_TOLERANCE * task.truth), ""
            row = Row(
                name, estimator, "mi", task.truth, task.truth, mean, float(values.std()), passed, note, 0.0
            )
            row.options, row.seconds = "package", float(sum(r.get("seconds", 0.0) for r in mine))
            rows.append(row)
    return rows
