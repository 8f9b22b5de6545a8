"""The ground-truth check's values: its protocol settings, one estimator run, one graded row."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

INFONCE_NAMES = frozenset({"infonce", "cpc"})
JS_TRAINED_NAMES = frozenset({"dv", "mine", "nwj"})
"""Families whose critic the check trains with the JS objective (``train_objective="js"``)."""


def has_task_options(name: str) -> bool:
    """Whether the check's protocol passes ``name`` options of its own (``harness.task_options``)."""
    return name == "ba" or name in JS_TRAINED_NAMES or name in INFONCE_NAMES


@dataclass(frozen=True)
class CheckConfig:
    """The fixed protocol; defaults are the documented default check."""

    train_samples: int = 10_000
    heldout_samples: int = 4_096
    batch_size: int = 64
    steps: int = 1_000
    seeds: int = 2
    lr: float = 5e-4
    hidden_dim: int = 128
    num_layers: int = 2
    curve_points: int = 15
    curve_batches: int = 4
    options: str = "protocol"
    """"protocol": the per-task options of ``harness.task_options``; "defaults": the registry defaults."""
    classical_block: int = 1_000
    """Rows per held-out block on which a classical estimator (KSG, CCA) is evaluated."""


@dataclass
class RunResult:
    """One estimator trained on one task with one seed."""

    estimator: str
    task: str
    seed: int
    estimate: float
    ms_per_step: float
    diverged: bool
    curve: list[tuple[int, float]] = field(default_factory=list)
    diagnostics: dict[str, float] = field(default_factory=dict)
    skipped: str = ""
    batch_estimates: list[float] = field(default_factory=list)
    """The estimate on each held-out batch (classical estimators: each held-out block)."""
    seconds: float = 0.0
    options: str = "protocol"


@dataclass
class Row:
    """One line of the check table (an estimator on a task, aggregated over seeds)."""

    task: str
    estimator: str
    measure: str
    truth: float | None
    target: float | None
    mean: float
    std: float
    passed: bool | None
    note: str
    ms_per_step: float
    ci_low: float = math.nan
    ci_high: float = math.nan
    """95 % percentile bootstrap over held-out batches (and seeds) of the mean estimate."""
    options: str = "protocol"
    seconds: float = 0.0
    """Wall time of the row's runs together (training and evaluation)."""

    @property
    def bias(self) -> float | None:
        return None if self.target is None else self.mean - self.target


def label(row: Row) -> str:
    """The estimator's name, marked ``[per-task options]`` when the check passed it options of its own."""
    tuned = row.options == "protocol" and has_task_options(row.estimator)
    return f"{row.estimator} [per-task options]" if tuned else row.estimator
