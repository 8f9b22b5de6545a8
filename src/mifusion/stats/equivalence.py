"""Equivalence of two methods from seed-paired differences: the two one-sided t tests (TOST; Schuirmann 1987).

"Not significantly different" is not "equal": equality within a margin is claimed only when both one-sided
tests reject, i.e. when the (1 - 2 alpha) confidence interval of the mean paired difference lies inside
``(-margin, +margin)``. The margin is fixed before the runs (it is part of the claim).

Example:
    >>> out = tost_paired([0.01, -0.005, 0.002, 0.004, -0.001], margin=0.03)
    >>> out.equivalent, round(out.high, 4) < 0.03
    (True, True)
    >>> tost_paired([0.05, -0.04, 0.06, -0.05, 0.01], margin=0.03).equivalent
    False
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np


class Equivalence(NamedTuple):
    """TOST on paired differences: mean, the (1 - 2 alpha) interval, the TOST p-value and the verdict."""

    mean: float
    low: float
    high: float
    p: float
    margin: float
    pairs: int
    equivalent: bool
    alpha: float = 0.05

    def describe(self, unit: str = "") -> str:
        """One line, e.g. ``+0.004 [90 % CI -0.011, +0.019], margin +-0.03: equivalent (TOST p 0.002, n 5)``."""
        verdict = "equivalent" if self.equivalent else "not shown equivalent"
        level = f"{100 * (1 - 2 * self.alpha):g} %"
        return (
            f"{self.mean:+.4f}{unit} [{level} CI {self.low:+.4f}, {self.high:+.4f}], margin +-{self.margin:g}: "
            f"{verdict} (TOST p {self.p:.3g}, n {self.pairs})"
        )


def tost_paired(differences: Sequence[float], margin: float, alpha: float = 0.05) -> Equivalence:
    """TOST of ``mean(differences)`` against ``(-margin, +margin)`` with a t distribution (n - 1 df).

    Args:
        differences: one paired difference per seed (method - reference).
        margin: the equivalence margin (> 0), in the differences' unit.
        alpha: the level of each one-sided test; the interval reported is the (1 - 2 alpha) one.

    Returns:
        :class:`Equivalence`; with fewer than 2 differences, or none varying, the p-value is NaN or exact
        and nothing is claimed unless the interval is inside the margin.
    """
    from scipy import stats

    if margin <= 0 or not math.isfinite(margin):
        raise ValueError(f"margin must be a positive number, got {margin}")
    values = np.asarray(differences, dtype=float)
    n = int(values.size)
    mean = float(values.mean()) if n else float("nan")
    if n < 2:
        return Equivalence(mean, float("nan"), float("nan"), float("nan"), margin, n, False, alpha)
    se = float(values.std(ddof=1) / math.sqrt(n))
    df = n - 1
    if se == 0.0:
        inside = -margin < mean < margin
        return Equivalence(mean, mean, mean, 0.0 if inside else 1.0, margin, n, inside, alpha)
    p_lower = float(stats.t.sf((mean + margin) / se, df))  # H0: mean <= -margin
    p_upper = float(stats.t.cdf((mean - margin) / se, df))  # H0: mean >= +margin
    half = float(stats.t.ppf(1 - alpha, df) * se)
    p = max(p_lower, p_upper)
    return Equivalence(mean, mean - half, mean + half, p, margin, n, p < alpha, alpha)
