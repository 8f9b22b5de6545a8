"""All metrics of a dataset kind at once, as a function and as a batch accumulator."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from mifusion.errors import ConfigError
from mifusion.metrics import functional as F

MetricFn = Callable[[Any, Any], float]


class Metric(NamedTuple):
    """One metric of the table: its function, whether it is reported in percent, and its direction."""

    fn: MetricFn
    percent: bool
    higher_is_better: bool


#: Metric name -> Metric per dataset kind, in report order.
METRICS: dict[str, dict[str, Metric]] = {
    "mosi": {
        "mae": Metric(F.mae, False, False),
        "corr": Metric(F.corr, False, True),
        "acc7": Metric(F.acc7, True, True),
        "acc5": Metric(F.acc5, True, True),
        "acc2_has0": Metric(F.acc2_has0, True, True),
        "acc2_non0": Metric(F.acc2_non0, True, True),
        "f1_has0": Metric(F.f1_has0, True, True),
        "f1_non0": Metric(F.f1_non0, True, True),
    },
    "sims": {
        "mae": Metric(F.mae, False, False),
        "corr": Metric(F.corr, False, True),
        "sims_acc2": Metric(F.sims_acc2, True, True),
        "sims_acc3": Metric(F.sims_acc3, True, True),
        "sims_acc5": Metric(F.sims_acc5, True, True),
        "sims_f1": Metric(F.sims_f1, True, True),
    },
}
METRICS["mosei"] = METRICS["mosi"]
#: Names scored outside the table with their direction: ``loss`` is the validation mean L1 loss,
#: ``auroc`` the swap AUROC of consistency scores (``mifusion.evaluation.explain``).
EXTRA_DIRECTIONS: dict[str, bool] = {"loss": False, "auroc": True}
KINDS: tuple[str, ...] = ("mosi", "mosei", "sims")


def higher_is_better(name: str) -> bool:
    """Whether a larger value of metric ``name`` is better (False for ``mae`` and ``loss``).

    Every metric declares its direction once, in :data:`METRICS`; everything that selects or ranks
    (checkpoint selection, sweeps, studies) reads it here.

    Example:
        >>> higher_is_better("mae"), higher_is_better("acc2_non0"), higher_is_better("loss")
        (False, True, False)
    """
    if name in EXTRA_DIRECTIONS:
        return EXTRA_DIRECTIONS[name]
    for table in METRICS.values():
        if name in table:
            return table[name].higher_is_better
    known = dict.fromkeys(n for table in METRICS.values() for n in table)
    raise ConfigError(f"unknown metric {name!r}; use one of {', '.join([*known, *EXTRA_DIRECTIONS])}")


def is_better(metric: str, value: float, best: float | None) -> bool:
    """Whether ``value`` improves on ``best`` for ``metric`` (any finite value beats None).

    Example:
        >>> is_better("mae", 0.7, 0.8), is_better("corr", 0.7, 0.8), is_better("mae", float("nan"), None)
        (True, False, False)
    """
    if best is None:
        return bool(np.isfinite(value))
    return value > best if higher_is_better(metric) else value < best


def _table(kind: str) -> dict[str, Metric]:
    try:
        return METRICS[kind]
    except KeyError:
        raise ConfigError(f"unknown metric kind {kind!r}; use one of {', '.join(KINDS)}") from None


def compute_metrics(pred: Any, target: Any, kind: str = "mosi") -> dict[str, float]:
    """Every metric of ``kind`` ("mosi"/"mosei" or "sims"); accuracies and F1 in percent.

    Args:
        pred: predictions, raw floats (numpy array or torch tensor), shape (N,) or (N, 1).
        target: labels, same size.
        kind: "mosi" (also for MOSEI, labels in [-3, 3]) or "sims" (labels in [-1, 1]).

    Returns:
        Metric name -> value, e.g. ``{"mae": 0.71, "corr": 0.79, ..., "acc2_non0": 84.3}``.

    Example:
        >>> m = compute_metrics([1.0, -2.0, 0.5, 0.2], [1.2, -1.5, 0.0, -0.4])
        >>> m["acc2_has0"], round(m["acc2_non0"], 2)
        (75.0, 66.67)
    """
    table = _table(kind)
    p, t = F.as_numpy(pred), F.as_numpy(target)
    return {name: m.fn(p, t) * (100.0 if m.percent else 1.0) for name, m in table.items()}


class MetricAccumulator:
    """Collects predictions and targets batch by batch; :meth:`compute` scores them all at once.

    Metrics such as Corr and F1 do not decompose over batches, so the accumulator keeps the values
    (8 bytes per sample) and computes on the concatenation.

    Example:
        >>> acc = MetricAccumulator("mosi")
        >>> acc.update([1.0, -2.0], [1.2, -1.5]); acc.update([0.5], [-0.4])
        >>> len(acc), round(acc.compute()["mae"], 3)
        (3, 0.533)
    """

    def __init__(self, kind: str = "mosi") -> None:
        _table(kind)
        self.kind = kind
        self._preds: list[np.ndarray] = []
        self._targets: list[np.ndarray] = []

    def update(self, pred: Any, target: Any) -> None:
        """Adds one batch (numpy or torch, any shape with one value per sample)."""
        p, t = F.as_numpy(pred), F.as_numpy(target)
        if p.shape != t.shape:
            from mifusion.errors import ShapeError

            raise ShapeError(f"batch has {p.size} predictions but {t.size} targets; pass one per target")
        self._preds.append(p)
        self._targets.append(t)

    def reset(self) -> None:
        """Forgets every batch."""
        self._preds.clear()
        self._targets.clear()

    def __len__(self) -> int:
        return int(sum(p.size for p in self._preds))

    def values(self) -> tuple[np.ndarray, np.ndarray]:
        """All predictions and targets so far, concatenated: (N,), (N,)."""
        if not self._preds:
            return np.zeros(0), np.zeros(0)
        return np.concatenate(self._preds), np.concatenate(self._targets)

    def compute(self) -> dict[str, float]:
        """Every metric of the kind on all samples seen (see :func:`compute_metrics`)."""
        p, t = self.values()
        return compute_metrics(p, t, self.kind)
