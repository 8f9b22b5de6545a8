"""Grading of the ground-truth check: one estimator's seeds on one task -> a :class:`Row` with its interval.

MI estimates pass within max(0.05 nats, 10 %) of the truth on tasks whose truth is at most 2 nats (InfoNCE
against min(truth, log B)); upper bounds pass when at least truth - tolerance; Jensen-Shannon within
max(0.01, 10 %) of its Monte Carlo truth in JSD nats; Wasserstein rows are not graded here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from mifusion.estimators.base import Bound, EstimatorEntry
from mifusion.estimators.fitting import bootstrap_interval
from mifusion.estimators.ground_truth import Task, dim_to_jsd
from mifusion.evaluation.estimator_check.records import INFONCE_NAMES, CheckConfig, Row, RunResult

ABS_TOLERANCE = 0.05  # nats
REL_TOLERANCE = 0.10
GRADED_MAX_TRUTH = 2.0  # nats: lower bounds are graded only up to this truth
JS_ABS_TOLERANCE = 0.01  # JSD nats, for tasks whose JSD is ~0


def grade(
    name: str,
    entry: EstimatorEntry,
    task: Task,
    runs: Sequence[RunResult],
    config: CheckConfig,
    js_truth: float | None,
) -> Row:
    """Aggregates one estimator's seeds on one task into a graded :class:`Row` with its interval."""
    row = _grade(name, entry, task, runs, config, js_truth)
    if row.note != "skipped":
        row.ci_low, row.ci_high = bootstrap_interval([r.batch_estimates for r in runs])
        row.seconds = float(sum(r.seconds for r in runs))
    row.options = config.options
    return row


def _grade(
    name: str,
    entry: EstimatorEntry,
    task: Task,
    runs: Sequence[RunResult],
    config: CheckConfig,
    js_truth: float | None,
) -> Row:
    if all(r.skipped for r in runs):
        return Row(
            task.name, name, entry.measures, task.truth, None, math.nan, math.nan, None, "skipped", 0.0
        )
    values = np.array([r.estimate for r in runs])
    mean, std = float(values.mean()), float(values.std())
    ms = float(np.mean([r.ms_per_step for r in runs]))
    if any(r.diverged for r in runs):
        return Row(
            task.name, name, entry.measures, task.truth, None, mean, std, False, "diverged (NaN/inf)", ms
        )
    if entry.measures == "js":
        if js_truth is None:
            return Row(task.name, name, "js", None, None, mean, std, None, "no JS truth", ms)
        target = dim_to_jsd(js_truth)  # estimates are JSD lower bounds in nats, (V + log 4) / 2
        ok = abs(mean - target) <= max(JS_ABS_TOLERANCE, REL_TOLERANCE * target)
        return Row(task.name, name, "js", target, target, mean, std, ok, "JS divergence (MC truth)", ms)
    if entry.measures != "mi":
        return Row(task.name, name, entry.measures, None, None, mean, std, None, "see Wasserstein checks", ms)
    target, note = task.truth, ""
    if name in INFONCE_NAMES:
        target = min(task.truth, math.log(config.batch_size))
        note = "vs min(truth, log B)"
    tolerance = max(ABS_TOLERANCE, REL_TOLERANCE * target)
    if entry.bound is Bound.UPPER:
        return Row(
            task.name,
            name,
            "mi",
            task.truth,
            target,
            mean,
            std,
            mean >= target - tolerance,
            "upper bound",
            ms,
        )
    if task.truth > GRADED_MAX_TRUTH:
        return Row(
            task.name, name, "mi", task.truth, target, mean, std, None, "truth > 2 nats: not graded", ms
        )
    return Row(
        task.name, name, "mi", task.truth, target, mean, std, abs(mean - target) <= tolerance, note, ms
    )
