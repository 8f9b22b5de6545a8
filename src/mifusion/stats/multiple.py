"""Holm's step-down method (Holm 1979) with simultaneous confidence intervals that agree with its decisions.

A family of comparisons (one study) is tested at family-wise level ``alpha`` by Holm's step-down method on
the two-sided paired t p values. The intervals are the ones compatible with the step-down test
(Strassburger & Bretz 2008, "Compatible simultaneous lower confidence bounds for the Holm procedure and
other Bonferroni-based closed tests", Statistics in Medicine 27:4914), applied to each comparison's
direction of effect:

* not rejected, when some comparison is not rejected: the two-sided t interval at ``1 - alpha / |A|``,
  ``A`` being the set of comparisons not rejected. It contains 0 (so the interval and the test agree);
* rejected, when some other comparison is not rejected: the half-line from 0 in the estimate's direction
  (the step-down test proves the sign, not a magnitude; report the unadjusted interval for that);
* all rejected: the ``1 - alpha / m`` t interval, cut at 0 on the side of 0.

Therefore "the Holm interval excludes 0" holds exactly when Holm rejects, which the per-step intervals
used before (each comparison at its own step's level, even after the step-down had stopped) did not
guarantee.

Example:
    >>> holm([0.01, 0.04, 0.03])
    [0.03, 0.06, 0.06]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

from mifusion.stats.paired import PairedDifference, t_interval


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-adjusted p values (monotone, capped at 1); nan stays nan and is not counted in ``m``."""
    idx = [i for i, p in enumerate(p_values) if not math.isnan(p)]
    m = len(idx)
    order = sorted(idx, key=lambda i: p_values[i])
    out = [math.nan] * len(p_values)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        out[i] = running
    return out


def holm_family(diffs: Sequence[PairedDifference], alpha: float = 0.05) -> list[PairedDifference]:
    """The family Holm-corrected: adjusted p values, decisions and compatible intervals (module docstring).

    A comparison with fewer than two seeds (nan p value) is not tested: its Holm interval is nan.
    """
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha}")
    adjusted = holm([d.p_value for d in diffs])
    tested = [i for i, d in enumerate(diffs) if not math.isnan(d.p_value)]
    rejected = {i for i in tested if adjusted[i] <= alpha}
    accepted = [i for i in tested if i not in rejected]
    out = list(diffs)
    for i, d in enumerate(diffs):
        if i not in tested:
            out[i] = replace(d, p_holm=math.nan, low_holm=math.nan, high_holm=math.nan, holm_rejected=False)
            continue
        if accepted:
            if i in rejected:
                low, high = (0.0, math.inf) if d.mean > 0 else (-math.inf, 0.0)
            else:
                iv = t_interval(d.diffs, 1.0 - alpha / len(accepted))
                low, high = iv.low, iv.high
        else:
            iv = t_interval(d.diffs, 1.0 - alpha / len(tested))
            low, high = (max(0.0, iv.low), iv.high) if d.mean > 0 else (iv.low, min(0.0, iv.high))
        out[i] = replace(d, p_holm=adjusted[i], low_holm=low, high_holm=high, holm_rejected=i in rejected)
    return out


def verdict(d: PairedDifference, lower_is_better: bool) -> str:
    """'holds' / 'fails' / 'inconclusive' for "treatment beats base" after :func:`holm_family`.

    holds: Holm rejects and the effect improves; fails: Holm rejects and it worsens; inconclusive:
    not rejected (which is not evidence of equality: use :func:`mifusion.stats.tost_paired` for that).
    """
    if not d.holm_rejected:
        return "inconclusive"
    improves = d.mean < 0 if lower_is_better else d.mean > 0
    return "holds" if improves else "fails"


def format_holm_interval(d: PairedDifference, digits: int = 3) -> str:
    """``[low, high]`` with infinite ends written as ``-inf`` / ``+inf``."""

    def end(v: float) -> str:
        return ("+inf" if v > 0 else "-inf") if math.isinf(v) else f"{v:+.{digits}f}"

    return f"[{end(d.low_holm)}, {end(d.high_holm)}]"
