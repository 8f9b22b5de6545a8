"""Tables, JSON and plots of a ground-truth check (:mod:`mifusion.evaluation.estimator_check.harness`).

Example:
    >>> from mifusion.evaluation.estimator_check.records import Row
    >>> row = Row("gauss-1d-rho0.5", "dv", "mi", 0.14384, 0.14384, 0.15, 0.01, True, "", 1.2)
    >>> print(format_table([row]).splitlines()[2])
    | gauss-1d-rho0.5 | 0.1438 | dv [per-task options] | 0.1500 ± 0.0100 | [nan, nan] | +0.0062 | pass | 1.20 |  |
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mifusion.evaluation.estimator_check.harness import CheckReport
from mifusion.evaluation.estimator_check.records import Row, RunResult, label
from mifusion.writers import atomic_write_text

ZERO_NOISE_FLOOR = 0.02  # Wasserstein units: |W(rho=0)| below this (or 3 seed std) counts as zero
GRADIENT_NORM_LIMIT = 1.1  # "near or below 1" for a 1-Lipschitz critic
WASSERSTEIN_SWEEP = ("gauss-1d-rho0", "gauss-1d-rho0.5", "gauss-1d-rho0.75", "gauss-1d-rho0.9")


def _fmt(value: float | None, spec: str = ".4f") -> str:
    return "-" if value is None else format(value, spec)


def format_table(rows: Sequence[Row]) -> str:
    """A Markdown table: task, truth, estimator, estimate mean ± std over seeds, its 95 % bootstrap interval,
    bias, pass/fail, ms/step (an estimator run with per-task options is labelled so)."""
    lines = [
        "| task | truth | estimator | estimate (mean ± std) | 95 % CI | bias | result | ms/step | note |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        result = {True: "pass", False: "FAIL", None: "n/a"}[r.passed]
        bias = None if r.bias is None else r.bias
        lines.append(
            f"| {r.task} | {_fmt(r.truth)} | {label(r)} | {r.mean:.4f} ± {r.std:.4f} | "
            f"[{r.ci_low:.4f}, {r.ci_high:.4f}] | {_fmt(bias, '+.4f')} | {result} | {r.ms_per_step:.2f} | {r.note} |"
        )
    return "\n".join(lines)


@dataclass
class WassersteinCheck:
    """Checks of one Wasserstein estimator over the 1x1 Gaussian rho sweep."""

    estimator: str
    means: dict[str, float]
    zero_at_independence: bool
    monotone: bool
    max_gradient_norm: float | None

    @property
    def passed(self) -> bool:
        grad_ok = self.max_gradient_norm is None or self.max_gradient_norm <= GRADIENT_NORM_LIMIT
        return self.zero_at_independence and self.monotone and grad_ok


def wasserstein_checks(rows: Sequence[Row], runs: Sequence[RunResult]) -> list[WassersteinCheck]:
    """Zero at rho = 0, monotone in rho, critic gradient norm <= ~1, for every "wasserstein" estimator.

    The gradient norm comes from the runs' diagnostics whose key contains ``gradient_norm`` (the largest
    over joint, marginal and interpolated samples, if the estimator reports them), else None.
    """
    checks = []
    names = sorted({r.estimator for r in rows if r.measure == "wasserstein"})
    for name in names:
        by_task = {r.task: r for r in rows if r.estimator == name}
        if not all(t in by_task for t in WASSERSTEIN_SWEEP):
            continue
        means = {t: by_task[t].mean for t in WASSERSTEIN_SWEEP}
        zero = by_task[WASSERSTEIN_SWEEP[0]]
        grads = [
            v
            for run in runs
            if run.estimator == name and run.task in WASSERSTEIN_SWEEP
            for k, v in run.diagnostics.items()
            if "gradient_norm" in k
        ]
        values = [means[t] for t in WASSERSTEIN_SWEEP]
        checks.append(
            WassersteinCheck(
                name,
                means,
                abs(zero.mean) <= max(ZERO_NOISE_FLOOR, 3.0 * zero.std),
                bool(np.all(np.diff(values) > 0)),
                max(grads) if grads else None,
            )
        )
    return checks


def format_wasserstein(checks: Sequence[WassersteinCheck]) -> str:
    """A Markdown table of :func:`wasserstein_checks`."""
    lines = [
        "| estimator | W at rho 0 / 0.5 / 0.75 / 0.9 | zero at rho=0 | monotone | max critic grad norm | result |",
        "|---|---|---|---|---|---|",
    ]
    for c in checks:
        values = " / ".join(f"{v:.3f}" for v in c.means.values())
        lines.append(
            f"| {c.estimator} | {values} | {c.zero_at_independence} | {c.monotone} | "
            f"{_fmt(c.max_gradient_norm, '.3f')} | {'pass' if c.passed else 'FAIL'} |"
        )
    return "\n".join(lines)


def report_to_dict(report: CheckReport) -> dict[str, Any]:
    """A JSON-ready dict: protocol, rows (with bias), runs (with curves), Wasserstein checks, wall time."""
    rows = [{**dataclasses.asdict(r), "bias": r.bias} for r in report.rows]
    checks = [
        {**dataclasses.asdict(c), "passed": c.passed} for c in wasserstein_checks(report.rows, report.runs)
    ]
    return {
        "config": dataclasses.asdict(report.config),
        "rows": rows,
        "runs": [dataclasses.asdict(r) for r in report.runs],
        "wasserstein_checks": checks,
        "wall_seconds": report.wall_seconds,
    }


def write_json(report: CheckReport, path: str | Path) -> None:
    """Writes :func:`report_to_dict` to ``path`` atomically."""
    atomic_write_text(Path(path), json.dumps(report_to_dict(report), indent=2, allow_nan=True))


def plot_curves(report: CheckReport, path: str | Path) -> None:
    """One panel per task: held-out estimate against training steps (mean over seeds), truth dashed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = list(dict.fromkeys(r.task for r in report.rows))
    columns = min(4, len(tasks))
    rows_n = -(-len(tasks) // columns)
    fig, axes = plt.subplots(rows_n, columns, figsize=(4 * columns, 3 * rows_n), squeeze=False)
    for ax, task in zip(axes.flat, tasks):
        task_rows = [r for r in report.rows if r.task == task]
        for row in task_rows:
            if row.measure != "mi":  # JS and Wasserstein are in other units
                continue
            curves = [
                r.curve for r in report.runs if r.task == task and r.estimator == row.estimator and r.curve
            ]
            if not curves:
                continue
            length = min(len(c) for c in curves)
            steps = [c[0] for c in curves[0][:length]]
            values = np.mean([[v for _, v in c[:length]] for c in curves], axis=0)
            ax.plot(steps, values, label=row.estimator)
        truth = next((r.truth for r in task_rows if r.measure == "mi" and r.truth is not None), None)
        if truth is not None:
            ax.axhline(truth, color="black", linestyle="--", linewidth=1, label="truth")
        ax.set_title(task, fontsize=9)
        ax.set_xlabel("step")
    for ax in list(axes.flat)[len(tasks) :]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=6)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".tmp" + path.suffix)
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    os.replace(tmp, path)
