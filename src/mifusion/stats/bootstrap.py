"""Hierarchical bootstrap of a paired difference over seeds x test clips (x generated grounds).

The seed-only t interval treats the test set (and, on generated data, the generator's draw) as fixed, so
its uncertainty is the training seeds' alone. Here each level is resampled with replacement, nested:
grounds (when several were generated), then seeds within a ground, then test clips within a ground. Both
arms are resampled with the same indices (paired), and a replicate's value is the mean over its resampled
grounds and seeds of ``statistic(treatment) - statistic(base)`` on the resampled clips. The interval is the
percentile interval of the replicates.

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> labels = rng.normal(size=200)
    >>> base = labels + rng.normal(scale=1.0, size=(5, 200))
    >>> treat = labels + rng.normal(scale=0.5, size=(5, 200))
    >>> out = hierarchical_bootstrap(treat, base, labels, mae, n_boot=200)
    >>> out.high < 0
    True
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Statistic = Callable[[np.ndarray, np.ndarray], np.ndarray]
"""``statistic(predictions (k, n), labels (k, n)) -> (k,)``: one metric value per row."""


def mae(predictions: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Mean absolute error per row."""
    return np.abs(predictions - labels).mean(axis=-1)


def acc2_non0(predictions: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Binary accuracy (%) of the sign on clips whose label is not 0, per row (the non0 Acc-2; NaN for a
    row with no such clip, as :mod:`mifusion.metrics` reports it)."""
    keep = labels != 0
    hits = ((predictions > 0) == (labels > 0)) & keep
    count = keep.sum(axis=-1)
    return np.where(count > 0, 100.0 * hits.sum(axis=-1) / np.maximum(count, 1), np.nan)


def corr(predictions: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Pearson correlation per row (NaN where either side is constant, as :mod:`mifusion.metrics` reports)."""
    p = predictions - predictions.mean(axis=-1, keepdims=True)
    t = labels - labels.mean(axis=-1, keepdims=True)
    den = np.sqrt((p * p).sum(axis=-1) * (t * t).sum(axis=-1))
    return np.where(den > 0, (p * t).sum(axis=-1) / np.where(den > 0, den, 1.0), np.nan)


STATISTICS: dict[str, Statistic] = {"mae": mae, "acc2_non0": acc2_non0, "corr": corr}


@dataclass(frozen=True)
class BootstrapInterval:
    """Point estimate (on the data as observed), percentile interval and the replicates' spread."""

    estimate: float
    low: float
    high: float
    level: float
    n_boot: int
    se: float
    levels: tuple[str, ...]

    def excludes_zero(self) -> bool:
        """True when the interval lies on one side of 0."""
        return self.low > 0 or self.high < 0


def _as_3d(x: np.ndarray, name: str) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    if x.ndim == 2:
        return x[None]
    if x.ndim != 3:
        raise ValueError(f"{name}: expected (seeds, clips) or (grounds, seeds, clips), got shape {x.shape}")
    return x


def hierarchical_bootstrap(
    treatment: np.ndarray,
    base: np.ndarray,
    labels: np.ndarray,
    statistic: Statistic,
    n_boot: int = 2000,
    level: float = 0.95,
    seed: int = 0,
    resample: tuple[str, ...] = ("grounds", "seeds", "clips"),
) -> BootstrapInterval:
    """Percentile interval of the mean paired difference ``statistic(treatment) - statistic(base)``.

    Args:
        treatment, base: predictions, shape ``(seeds, clips)`` or ``(grounds, seeds, clips)``; seed ``s`` of
            both arms is the same training seed, clip ``c`` the same test clip.
        labels: shape ``(clips,)`` or ``(grounds, clips)``.
        statistic: see :data:`Statistic` (e.g. :func:`mae`).
        n_boot: replicates; level: the interval's confidence level; seed: the resampling's RNG seed.
        resample: which levels to resample (a level left out is held fixed, e.g. ``("seeds",)`` gives the
            seed-only bootstrap).

    Raises:
        ValueError: shapes that do not pair, an unknown level, or n_boot < 1.
    """
    t, b = _as_3d(treatment, "treatment"), _as_3d(base, "base")
    y = np.asarray(labels, dtype=float)
    y = y[None] if y.ndim == 1 else y
    if t.shape != b.shape or y.shape != (t.shape[0], t.shape[2]):
        raise ValueError(f"shapes do not pair: treatment {t.shape}, base {b.shape}, labels {y.shape}")
    unknown = set(resample) - {"grounds", "seeds", "clips"}
    if unknown or n_boot < 1 or not 0.0 < level < 1.0:
        raise ValueError(f"bad bootstrap settings: levels {sorted(unknown)}, n_boot {n_boot}, level {level}")
    g_n, s_n, c_n = t.shape
    estimate = float((statistic(t.reshape(-1, c_n), np.repeat(y, s_n, 0)) -
                      statistic(b.reshape(-1, c_n), np.repeat(y, s_n, 0))).mean())  # fmt: skip
    rng = np.random.default_rng(seed)
    reps = np.empty(n_boot)
    for r in range(n_boot):
        grounds = np.asarray(rng.integers(0, g_n, size=g_n)) if "grounds" in resample else np.arange(g_n)
        total = 0.0
        for g in grounds:
            seeds = rng.integers(0, s_n, size=s_n) if "seeds" in resample else np.arange(s_n)
            clips = rng.integers(0, c_n, size=c_n) if "clips" in resample else np.arange(c_n)
            yy = np.broadcast_to(y[g, clips], (s_n, c_n))
            diff = statistic(t[g][np.ix_(seeds, clips)], yy) - statistic(b[g][np.ix_(seeds, clips)], yy)
            total += float(diff.mean())
        reps[r] = total / g_n
    tail = (1.0 - level) / 2.0
    low, high = (float(v) for v in np.quantile(reps, [tail, 1.0 - tail]))
    se = float(reps.std(ddof=1)) if n_boot > 1 else math.nan
    kept = tuple(k for k in ("grounds", "seeds", "clips") if k in resample and (k != "grounds" or g_n > 1))
    return BootstrapInterval(estimate, low, high, level, n_boot, se, kept)
