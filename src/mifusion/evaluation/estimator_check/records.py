"""The ground-truth check's values: its protocol settings, one estimator run, one graded row."""

from __future__ import annotations

from dataclasses import dataclass, field


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

    @property
    def bias(self) -> float | None:
        return None if self.target is None else self.mean - self.target
