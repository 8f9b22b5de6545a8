"""Self-consistency checks of the MI estimators (``mifusion estimators check --suite consistency``).

Every estimator runs on six tasks, graded like any ground-truth row, and then passes or fails three checks
on its own estimates (the MI in each pair of tasks comes from the same draws):

- **independence:** X, Y independent 5-d Gaussians: ``|I^| <= 0.05`` nats.
- **data processing:** the 3 x 3 two-pair Gaussian (I = 1.0217) and the same draws with X's first
  coordinate dropped (f lossy, I = 0.5108): ``I^(f(X); Y) <= I^(X; Y) + 0.05``.
- **additivity:** two independent pairs, the 1 x 1 Gaussian with rho 0.75 and the additive-uniform task
  with eps 0.75, and their concatenation ``((X1, X2), (Y1, Y2))``:
  ``|I^(joint) - (I^1 + I^2)| <= max(0.05, 10 % of I^1 + I^2)``.

Example:
    >>> sorted(CONSISTENCY_TASKS)[:2]
    ['add-joint', 'add-pair1']
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mifusion.estimators.beyond_normal import BEYOND_NORMAL
from mifusion.estimators.ground_truth import Task, _elliptical_task
from mifusion.evaluation.estimator_check.records import Row, label

Array = np.ndarray
TOLERANCE = 0.05  # nats
REL_TOLERANCE = 0.10


def _independent() -> Task:
    task = _elliptical_task("indep-5x5", "independent 5 x 5 Gaussians", np.eye(10), (5, 5), None, "identity")
    return task


def _processing() -> tuple[Task, Task]:
    full = BEYOND_NORMAL["multinormal-sparse-3-3-2-2.0"]
    cov = np.eye(6)
    for k in range(2):
        cov[k, 3 + k] = cov[3 + k, k] = 0.8
    keep = [1, 2, 3, 4, 5]
    sub = _elliptical_task("sub", "", cov[np.ix_(keep, keep)], (2, 3), None, "identity")

    def drop_first(parts: list[Array]) -> list[Array]:
        return [parts[0][:, 1:], parts[1]]

    lossy = dataclasses.replace(
        full,
        name="dpi-lossy",
        description="the 3 x 3 two-pair Gaussian with X's first coordinate dropped",
        dims=(2, 3),
        truth=sub.truth,
        observe=drop_first,
        log_ratio=lambda parts: sub.log_ratio(drop_first(parts)),
    )
    return dataclasses.replace(full, name="dpi-full"), lossy


def _additive() -> tuple[Task, Task, Task]:
    first, second = BEYOND_NORMAL["1v1-normal-0.75"], BEYOND_NORMAL["1v1-additive-0.75"]

    def sample_latent(n: int, rng: np.random.Generator) -> list[Array]:
        a, b = first.sample_latent(n, rng), second.sample_latent(n, rng)
        return [a[0], b[0], a[1], b[1]]  # x1, x2, y1, y2

    def joint_ratio(parts: list[Array]) -> Array:
        x, y = parts
        return first.log_ratio([x[:, :1], y[:, :1]]) + second.log_ratio([x[:, 1:], y[:, 1:]])

    joint = Task(
        "add-joint",
        "(X1, X2) vs (Y1, Y2): two independent pairs",
        (2, 2),
        first.truth + second.truth,
        "gaussian",
        lambda n, rng: (lambda p: [np.concatenate(p[:2], 1), np.concatenate(p[2:], 1)])(
            sample_latent(n, rng)
        ),
        joint_ratio,
    )
    pairs = []
    for k, task in enumerate((first, second)):

        def pick(parts: list[Array], k: int = k) -> list[Array]:
            return [parts[0][:, k : k + 1], parts[1][:, k : k + 1]]

        def ratio(parts: list[Array], task: Task = task, pick: Callable[..., list[Array]] = pick) -> Array:
            return task.log_ratio(pick(parts))

        pairs.append(
            dataclasses.replace(
                joint,
                name=f"add-pair{k + 1}",
                description=f"pair {k + 1} of add-joint ({task.name})",
                dims=(1, 1),
                truth=task.truth,
                observe=pick,
                log_ratio=ratio,
            )
        )
    return joint, pairs[0], pairs[1]


def _build() -> dict[str, Task]:
    full, lossy = _processing()
    joint, one, two = _additive()
    return {t.name: t for t in (_independent(), full, lossy, one, two, joint)}


CONSISTENCY_TASKS: dict[str, Task] = _build()


@dataclass
class Consistency:
    """One estimator's three checks, with the figures they compare."""

    estimator: str
    independence: float
    full: float
    lossy: float
    pair_sum: float
    joint: float

    @property
    def independent_ok(self) -> bool:
        return abs(self.independence) <= TOLERANCE

    @property
    def processing_ok(self) -> bool:
        return self.lossy <= self.full + TOLERANCE

    @property
    def additive_ok(self) -> bool:
        return abs(self.joint - self.pair_sum) <= max(TOLERANCE, REL_TOLERANCE * abs(self.pair_sum))

    @property
    def passed(self) -> bool:
        return self.independent_ok and self.processing_ok and self.additive_ok


def check_consistency(rows: Sequence[Row]) -> list[Consistency]:
    """The three checks for every estimator with a row on each consistency task (NaN fails each check)."""
    out = []
    for name in dict.fromkeys(label(r) for r in rows if r.measure == "mi"):
        means = {r.task: r.mean for r in rows if label(r) == name}
        if not all(t in means for t in CONSISTENCY_TASKS):
            continue
        out.append(
            Consistency(
                name,
                means["indep-5x5"],
                means["dpi-full"],
                means["dpi-lossy"],
                means["add-pair1"] + means["add-pair2"],
                means["add-joint"],
            )
        )
    return out


def format_consistency(checks: Sequence[Consistency]) -> str:
    """A Markdown table: each estimator's figures and pass/fail per check."""

    def mark(ok: bool) -> str:
        return "pass" if ok else "FAIL"

    lines = [
        "| estimator | I^ independent | independence | I^(X;Y) / I^(f(X);Y) | data processing | "
        "I^1 + I^2 / I^(joint) | additivity | all |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for c in checks:
        lines.append(
            f"| {c.estimator} | {c.independence:+.4f} | {mark(c.independent_ok)} | {c.full:.4f} / {c.lossy:.4f} | "
            f"{mark(c.processing_ok)} | {c.pair_sum:.4f} / {c.joint:.4f} | {mark(c.additive_ok)} | "
            f"{mark(c.passed)} |"
        )
    truth = CONSISTENCY_TASKS
    lines.append(
        f"| truth | 0 | | {truth['dpi-full'].truth:.4f} / {truth['dpi-lossy'].truth:.4f} | | "
        f"{truth['add-pair1'].truth + truth['add-pair2'].truth:.4f} / {truth['add-joint'].truth:.4f} | | |"
    )
    return "\n".join(lines)


def plot_consistency(checks: Sequence[Consistency], path: str | Path) -> None:
    """Three panels (independence, data processing, additivity): each estimator's figures, truth dashed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [c.estimator for c in checks]
    at = np.arange(len(names))
    fig, axes = plt.subplots(1, 3, figsize=(4 + 1.2 * len(names), 3.2))
    panels = [
        ("independence: I^ (truth 0)", [[c.independence for c in checks]], ["I^"], [0.0]),
        ("data processing", [[c.full for c in checks], [c.lossy for c in checks]], ["I^(X;Y)", "I^(f(X);Y)"],
         [CONSISTENCY_TASKS["dpi-full"].truth, CONSISTENCY_TASKS["dpi-lossy"].truth]),
        ("additivity", [[c.pair_sum for c in checks], [c.joint for c in checks]], ["I^1 + I^2", "I^(joint)"],
         [CONSISTENCY_TASKS["add-joint"].truth]),
    ]  # fmt: skip
    for ax, (title, series, labels, truths) in zip(axes, panels):
        width = 0.8 / len(series)
        for k, (values, name) in enumerate(zip(series, labels)):
            ax.bar(at + k * width, [v if math.isfinite(v) else 0.0 for v in values], width, label=name)
        for value in truths:
            ax.axhline(value, color="black", linestyle="--", linewidth=1)
        ax.set_xticks(at + 0.4 - width / 2, names, rotation=45, ha="right", fontsize=7)
        ax.set_title(title, fontsize=8)
        ax.legend(fontsize=6)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".tmp" + path.suffix)
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    os.replace(tmp, path)
