"""Per-estimator summaries, the task x estimator matrix and the estimate / truth heat map of a check.

Example:
    >>> from mifusion.evaluation.estimator_check.records import Row
    >>> rows = [Row("t", "ksg", "mi", 0.5, 0.5, 0.45, 0.0, True, "", 0.0, options="defaults")]
    >>> print(format_summary(rows).splitlines()[2])
    | ksg | 1/1 | 0.0500 | 0 | 0 |
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mifusion.evaluation.estimator_check.records import Row, label


@dataclass
class EstimatorSummary:
    """One estimator (with its options) over the graded MI rows of a check."""

    estimator: str
    graded: int
    passed: int
    mean_abs_bias: float
    diverged: int
    seconds: float


def summarise(rows: Sequence[Row]) -> list[EstimatorSummary]:
    """Pass count, mean |bias| over graded MI rows, divergences (NaN / inf) and wall time per estimator."""
    out = []
    for name in dict.fromkeys(label(r) for r in rows):
        mine = [r for r in rows if label(r) == name]
        graded = [r for r in mine if r.passed is not None and r.measure == "mi"]
        biases = [abs(r.bias) for r in graded if r.bias is not None and math.isfinite(r.bias)]
        out.append(
            EstimatorSummary(
                name,
                len(graded),
                sum(bool(r.passed) for r in graded),
                float(np.mean(biases)) if biases else math.nan,
                sum("diverged" in r.note for r in mine),
                float(sum(r.seconds for r in mine)),
            )
        )
    return out


def format_summary(rows: Sequence[Row]) -> str:
    """A Markdown table of :func:`summarise`."""
    lines = [
        "| estimator | pass / graded | mean abs bias (nats) | diverged | wall s |",
        "|---|---|---|---|---|",
    ]
    for s in summarise(rows):
        lines.append(
            f"| {s.estimator} | {s.passed}/{s.graded} | {s.mean_abs_bias:.4f} | {s.diverged} | {s.seconds:.0f} |"
        )
    return "\n".join(lines)


def _matrix(rows: Sequence[Row]) -> tuple[list[str], list[str], np.ndarray]:
    tasks = list(dict.fromkeys(r.task for r in rows if r.measure == "mi" and r.truth))  # no ratio at truth 0
    names = list(dict.fromkeys(label(r) for r in rows if r.measure == "mi"))
    values = np.full((len(tasks), len(names)), np.nan)
    for r in rows:
        if r.measure == "mi" and r.truth:
            values[tasks.index(r.task), names.index(label(r))] = r.mean
    return tasks, names, values


def format_matrix(rows: Sequence[Row]) -> str:
    """Task x estimator Markdown table of mean estimates (nats), the truth first; failed rows in bold."""
    tasks, names, values = _matrix(rows)
    truth = {r.task: r.truth for r in rows if r.measure == "mi"}
    failed = {(r.task, label(r)) for r in rows if r.passed is False}
    lines = ["| task | truth | " + " | ".join(names) + " |", "|---" * (len(names) + 2) + "|"]
    for i, task in enumerate(tasks):
        cells = []
        for j, name in enumerate(names):
            text = "-" if math.isnan(values[i, j]) else f"{values[i, j]:.3f}"
            cells.append(f"**{text}**" if (task, name) in failed else text)
        lines.append(f"| {task} | {truth[task]:.3f} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot_heatmap(rows: Sequence[Row], path: str | Path, title: str = "") -> None:
    """Estimate / truth per task (rows) and estimator (columns); 1 is exact, the colour scale is 0 to 2."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks, names, values = _matrix(rows)
    truth = np.array([next(r.truth for r in rows if r.task == t and r.truth) for t in tasks])
    ratio = values / truth[:, None]
    fig, ax = plt.subplots(figsize=(3.5 + 0.75 * len(names), 2.5 + 0.28 * len(tasks)))
    image = ax.imshow(np.clip(ratio, 0.0, 2.0), cmap="RdBu_r", vmin=0.0, vmax=2.0, aspect="auto")
    for i in range(len(tasks)):
        for j in range(len(names)):
            text = "NaN" if math.isnan(ratio[i, j]) else f"{ratio[i, j]:.2f}"
            ax.text(j, i, text, ha="center", va="center", fontsize=6)
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right", fontsize=7)
    ax.set_yticks(range(len(tasks)), tasks, fontsize=6)
    ax.set_title(title or "estimate / truth", fontsize=8)
    fig.colorbar(image, ax=ax, fraction=0.03)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".tmp" + path.suffix)
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    os.replace(tmp, path)
