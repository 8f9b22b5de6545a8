"""Holm against statsmodels, and the Holm-compatible intervals: they agree with the decisions and cover."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mifusion import stats as S


@pytest.mark.parametrize("seed", range(10))
def test_holm_matches_statsmodels(seed: int) -> None:
    from statsmodels.stats.multitest import multipletests

    p = np.random.default_rng(seed).uniform(0, 0.3, size=int(np.random.default_rng(seed).integers(1, 9)))
    reject, adjusted, _, _ = multipletests(p, alpha=0.05, method="holm")
    assert S.holm(list(p)) == pytest.approx(list(adjusted), rel=1e-12)
    diffs = [S.PairedDifference(str(i), (0.0, 0.0), 1.0, 1.0, 0.0, 2.0, float(v)) for i, v in enumerate(p)]
    assert [d.holm_rejected for d in S.holm_family(diffs)] == list(reject)


def test_holm_by_hand_and_nan_is_not_counted() -> None:
    # sorted: 0.005*4=0.02, 0.01*3=0.03, 0.03*2=0.06, 0.04*1=0.04 -> monotone 0.06
    assert S.holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    out = S.holm([0.5, math.nan])
    assert out[0] == pytest.approx(0.5) and math.isnan(out[1])


def _family(rng: np.random.Generator, effects: list[float], n: int = 6) -> list[S.PairedDifference]:
    return [
        S.paired_difference(rng.normal(e, 1.0, size=n), np.zeros(n), f"c{i}") for i, e in enumerate(effects)
    ]


@pytest.mark.parametrize("seed", range(40))
def test_interval_excludes_zero_exactly_when_holm_rejects(seed: int) -> None:
    rng = np.random.default_rng(seed)
    fam = S.holm_family(_family(rng, list(rng.choice([0.0, 0.8, -1.5, 3.0], size=4))))
    for d in fam:
        excludes = (
            d.low_holm > 0 or d.high_holm < 0 or (d.low_holm == 0 < d.mean) or (d.high_holm == 0 > d.mean)
        )
        assert excludes == d.holm_rejected, d
        assert d.p_holm >= d.p_value
        if d.holm_rejected:  # the proven sign is the estimate's
            assert (d.mean > 0 and d.low_holm >= 0) or (d.mean < 0 and d.high_holm <= 0)


def test_simultaneous_coverage_is_at_least_the_nominal_level() -> None:
    """Monte Carlo: all four true effects inside their Holm intervals in >= 95 % of 3000 families."""
    rng = np.random.default_rng(7)
    effects = [0.0, 0.0, 0.5, 1.5]
    misses = 0
    for _ in range(3000):
        fam = S.holm_family(_family(rng, effects, n=8))
        misses += any(not (d.low_holm <= e <= d.high_holm) for d, e in zip(fam, effects))
    assert misses / 3000 <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / 3000)


def test_verdicts_follow_the_decision_and_the_direction() -> None:
    rng = np.random.default_rng(3)
    base = rng.normal(1.0, 0.05, size=10)
    strong = S.paired_difference(base - 0.2 + rng.normal(0, 0.01, 10), base, "strong")
    null = S.paired_difference(base + rng.normal(0, 0.05, 10), base, "null")
    fam = S.holm_family([strong, null])
    assert S.verdict(fam[0], lower_is_better=True) == "holds"
    assert S.verdict(fam[0], lower_is_better=False) == "fails"
    assert S.verdict(fam[1], lower_is_better=True) == "inconclusive"
    assert S.format_holm_interval(fam[0]) == "[-inf, +0.000]"
    single = S.holm_family([S.paired_difference([0.1], [0.0])])[0]
    assert S.verdict(single, lower_is_better=True) == "inconclusive" and math.isnan(single.low_holm)
    with pytest.raises(ValueError, match="alpha"):
        S.holm_family([strong], alpha=1.5)
