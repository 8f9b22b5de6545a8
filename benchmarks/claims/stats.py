"""Statistics shared by the claim studies: paired differences across seeds, t intervals, Holm.

Every arm of a study is run with the same seeds; a comparison is the per-seed difference
``treatment - base`` of one metric, summarised by its mean and a two-sided 95 % Student t interval
(n - 1 degrees of freedom). A family of comparisons (one study) is corrected with Holm's step-down
method (Holm 1979, "A simple sequentially rejective multiple test procedure"); the corrected
interval of a comparison uses the level its Holm step assigns, so the verdict follows the corrected
intervals.

Example:
    >>> d = paired_difference([1.0, 2.0, 3.0], [0.5, 1.5, 2.0], name="x")
    >>> round(d.mean, 3), d.n
    (0.667, 3)
    >>> holm([0.01, 0.04, 0.03])
    [0.03, 0.06, 0.06]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from scipy import stats as _st


@dataclass(frozen=True)
class Interval:
    """A mean with its two-sided confidence interval (``low``, ``high``) at ``level``."""

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
        low, high: the uncorrected 95 % t interval of the mean.
        p_value: two-sided one-sample t test of mean 0 (nan for n < 2 or zero spread).
        p_holm: Holm-adjusted p value within the family (equals p_value until :func:`holm_family`).
        low_holm, high_holm: the Holm-corrected interval (equals the uncorrected one until corrected).
    """

    name: str
    diffs: tuple[float, ...]
    mean: float
    std: float
    low: float
    high: float
    p_value: float
    p_holm: float
    low_holm: float
    high_holm: float

    @property
    def n(self) -> int:
        """Number of paired seeds."""
        return len(self.diffs)


def t_interval(values: Sequence[float], level: float = 0.95) -> Interval:
    """Two-sided Student t interval for the mean of ``values`` (nan bounds for n < 2).

    >>> iv = t_interval([1.0, 2.0, 3.0])
    >>> round(iv.low, 3), round(iv.high, 3)
    (-0.484, 4.484)
    """
    x = np.asarray(values, dtype=float)
    n = int(x.size)
    mean = float(x.mean()) if n else math.nan
    if n < 2:
        return Interval(mean, math.nan, math.nan, level, n)
    sem = float(x.std(ddof=1)) / math.sqrt(n)
    half = float(_st.t.ppf(0.5 + level / 2.0, n - 1)) * sem
    return Interval(mean, mean - half, mean + half, level, n)


def _p_value(x: np.ndarray) -> float:
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
    """Per-seed ``treatment - base`` with its mean, t interval and t-test p value.

    Raises:
        ValueError: the arms have different numbers of seeds.
    """
    if len(treatment) != len(base):
        raise ValueError(
            f"{name or 'comparison'}: {len(treatment)} treatment seeds vs {len(base)} base seeds"
        )
    x = np.asarray(treatment, dtype=float) - np.asarray(base, dtype=float)
    iv = t_interval(x, level)
    p = _p_value(x)
    std = float(x.std(ddof=1)) if x.size > 1 else math.nan
    return PairedDifference(
        name, tuple(float(v) for v in x), iv.mean, std, iv.low, iv.high, p, p, iv.low, iv.high
    )


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm step-down adjusted p values (monotone, capped at 1; nan stays nan and is not counted)."""
    idx = [i for i, p in enumerate(p_values) if not math.isnan(p)]
    m = len(idx)
    order = sorted(idx, key=lambda i: p_values[i])
    out = [math.nan] * len(p_values)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        out[i] = running
    return out


def holm_family(diffs: Sequence[PairedDifference], level: float = 0.95) -> list[PairedDifference]:
    """Holm-corrects a family: adjusted p values and intervals at the step's level.

    The comparison ranked k-th (0-based, by raw p value) among m gets a ``1 - alpha / (m - k)``
    interval, so "interval excludes 0" agrees with the step-down test for the leading comparisons.
    """
    alpha = 1.0 - level
    adjusted = holm([d.p_value for d in diffs])
    ranked = sorted(range(len(diffs)), key=lambda i: (math.isnan(diffs[i].p_value), diffs[i].p_value))
    m = sum(1 for d in diffs if not math.isnan(d.p_value))
    out = list(diffs)
    for k, i in enumerate(ranked):
        d = diffs[i]
        step_level = 1.0 - alpha / max(m - k, 1)
        iv = t_interval(d.diffs, step_level)
        out[i] = replace(d, p_holm=adjusted[i], low_holm=iv.low, high_holm=iv.high)
    return out


def verdict(d: PairedDifference, lower_is_better: bool, alpha: float = 0.05) -> str:
    """'holds' / 'fails' / 'inconclusive' for the claim "treatment beats base" after correction.

    holds: the corrected interval lies on the improving side of 0 (Holm p < alpha);
    fails: it lies on the worsening side; inconclusive: it covers 0 or n < 2.
    """
    if d.n < 2 or math.isnan(d.p_holm) or d.p_holm >= alpha:
        return "inconclusive"
    improves = d.mean < 0 if lower_is_better else d.mean > 0
    return "holds" if improves else "fails"


def mean_std(values: Sequence[float]) -> str:
    """``mean +- std`` (ddof=1) with 3 decimals; a bare value for one seed."""
    x = np.asarray(values, dtype=float)
    if x.size < 2:
        return f"{float(x.mean()):.3f}"
    return f"{float(x.mean()):.3f} +- {float(x.std(ddof=1)):.3f}"
