"""Paired differences over seeds: every arm runs with the same seeds, a comparison is ``treatment - base``.

A comparison is summarised by its mean, its sample standard deviation and a two-sided Student t interval
with ``n - 1`` degrees of freedom (the paired t test; ``scipy.stats.ttest_rel`` gives the same p value).

Example:
    >>> d = paired_difference([1.0, 2.0, 3.0], [0.5, 1.5, 2.0], name="x")
    >>> round(d.mean, 3), d.n
    (0.667, 3)
    >>> paired_by_seed({1: 0.8, 2: 0.9, 3: 0.7}, {1: 0.9, 2: 1.0, 3: 0.75, 4: 2.0}).n
    3
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as _st


@dataclass(frozen=True)
class Interval:
    """A mean with its two-sided confidence interval (``low``, ``high``) at ``level`` over ``n`` values."""

    mean: float
    low: float
    high: float
    level: float
    n: int


@dataclass(frozen=True)
class PairedDifference:
    """Per-seed differences ``treatment - base`` of one metric, summarised.

    Attributes:
        name: the comparison's label.
        diffs: the per-seed differences (length n).
        mean: their mean.
        std: their sample standard deviation (ddof=1; nan for n < 2).
        low, high: the unadjusted two-sided t interval of the mean at ``level``.
        p_value: two-sided paired t test of mean 0 (nan for n < 2).
        level: the interval's confidence level.
        p_holm, low_holm, high_holm, holm_rejected: filled by :func:`mifusion.stats.holm_family` (the
            Holm-adjusted p value, the interval compatible with the step-down decisions, and the decision);
            until then they repeat the unadjusted figures.
    """

    name: str
    diffs: tuple[float, ...]
    mean: float
    std: float
    low: float
    high: float
    p_value: float
    level: float = 0.95
    p_holm: float = math.nan
    low_holm: float = math.nan
    high_holm: float = math.nan
    holm_rejected: bool = False

    @property
    def n(self) -> int:
        """Number of paired seeds."""
        return len(self.diffs)

    @property
    def pairs(self) -> int:
        """Alias of :attr:`n` (the number of seed pairs)."""
        return len(self.diffs)


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof=1; 0.0 for a single value, nan for none)."""
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        return math.nan, math.nan
    return float(x.mean()), float(x.std(ddof=1)) if x.size > 1 else 0.0


def format_mean_std(values: Sequence[float], digits: int = 3) -> str:
    """``mean +- std`` (ddof=1); a bare value for one seed.

    >>> format_mean_std([1.0, 2.0, 3.0])
    '2.000 +- 1.000'
    """
    mean, std = mean_std(values)
    return f"{mean:.{digits}f}" if len(values) < 2 else f"{mean:.{digits}f} +- {std:.{digits}f}"


def t_interval(values: Sequence[float], level: float = 0.95) -> Interval:
    """Two-sided Student t interval for the mean of ``values`` (nan bounds for n < 2).

    >>> iv = t_interval([1.0, 2.0, 3.0])
    >>> round(iv.low, 3), round(iv.high, 3)
    (-0.484, 4.484)
    """
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must lie in (0, 1), got {level}")
    x = np.asarray(values, dtype=float)
    n = int(x.size)
    mean = float(x.mean()) if n else math.nan
    if n < 2:
        return Interval(mean, math.nan, math.nan, level, n)
    half = float(_st.t.ppf(0.5 + level / 2.0, n - 1)) * float(x.std(ddof=1)) / math.sqrt(n)
    return Interval(mean, mean - half, mean + half, level, n)


def t_test_p(values: Sequence[float]) -> float:
    """Two-sided one-sample t test of mean 0 (nan for n < 2; 1 or 0 when the values do not vary)."""
    x = np.asarray(values, dtype=float)
    if x.size < 2:
        return math.nan
    sd = float(x.std(ddof=1))
    if sd == 0.0:
        return 1.0 if float(x.mean()) == 0.0 else 0.0
    t = float(x.mean()) / (sd / math.sqrt(x.size))
    return float(2.0 * _st.t.sf(abs(t), x.size - 1))


def paired_difference(
    treatment: Sequence[float], base: Sequence[float], name: str = "", level: float = 0.95
) -> PairedDifference:
    """Per-seed ``treatment - base`` (same seed order in both) with its mean, t interval and p value.

    Raises:
        ValueError: the arms have different numbers of seeds.
    """
    if len(treatment) != len(base):
        raise ValueError(
            f"{name or 'comparison'}: {len(treatment)} treatment seeds vs {len(base)} base seeds"
        )
    x = np.asarray(treatment, dtype=float) - np.asarray(base, dtype=float)
    iv = t_interval(x, level)
    p = t_test_p(x)
    std = float(x.std(ddof=1)) if x.size > 1 else math.nan
    diffs = tuple(float(v) for v in x)
    return PairedDifference(name, diffs, iv.mean, std, iv.low, iv.high, p, level, p, iv.low, iv.high)


def paired_by_seed(
    treatment: Mapping[int, float], base: Mapping[int, float], name: str = "", level: float = 0.95
) -> PairedDifference:
    """:func:`paired_difference` over the seeds both mappings share (seed -> value).

    Raises:
        ValueError: no seed is shared.
    """
    seeds = sorted(set(treatment) & set(base))
    if not seeds:
        raise ValueError(f"{name or 'comparison'}: no seed is shared; run both arms with the same seeds")
    return paired_difference([treatment[s] for s in seeds], [base[s] for s in seeds], name, level)
