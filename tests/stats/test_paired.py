"""Paired differences against scipy (t intervals, paired t test) and the seed pairing."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as st

from mifusion import stats as S


@pytest.mark.parametrize("level", [0.9, 0.95, 0.99])
def test_t_interval_matches_scipy(level: float) -> None:
    x = np.random.default_rng(0).normal(1.0, 2.0, size=7)
    iv = S.t_interval(x, level)
    low, high = st.t.interval(level, len(x) - 1, loc=x.mean(), scale=st.sem(x))
    assert (iv.low, iv.high, iv.n) == (pytest.approx(low, rel=1e-10), pytest.approx(high, rel=1e-10), 7)
    assert math.isnan(S.t_interval([1.0]).low)
    with pytest.raises(ValueError, match="level"):
        S.t_interval(x, 1.0)


@pytest.mark.parametrize("seed", range(5))
def test_paired_difference_matches_scipy_ttest_rel(seed: int) -> None:
    rng = np.random.default_rng(seed)
    base = rng.normal(0.8, 0.05, size=10)
    treat = base - 0.02 + rng.normal(0, 0.01, size=10)
    d = S.paired_difference(treat, base, "t")
    ref = st.ttest_rel(treat, base)
    assert d.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    ci = ref.confidence_interval(0.95)
    assert (d.low, d.high) == (pytest.approx(ci.low, rel=1e-9), pytest.approx(ci.high, rel=1e-9))
    assert d.mean == pytest.approx(float(np.mean(treat - base))) and d.n == d.pairs == 10


def test_pairing_is_by_seed_and_arms_must_match() -> None:
    d = S.paired_by_seed({1: 1.0, 2: 1.5, 3: 0.7, 4: 1.1, 9: 5.0}, {4: 1.0, 3: 0.8, 2: 1.2, 1: 0.9})
    assert d.diffs == pytest.approx((0.1, 0.3, -0.1, 0.1))
    with pytest.raises(ValueError, match="seeds"):
        S.paired_difference([1.0, 2.0], [1.0], "x")
    with pytest.raises(ValueError, match="no seed is shared"):
        S.paired_by_seed({1: 1.0}, {2: 1.0})


def test_mean_std_and_its_format() -> None:
    assert S.mean_std([1.0, 2.0, 3.0]) == pytest.approx((2.0, 1.0))
    assert S.mean_std([4.0]) == (4.0, 0.0)
    assert S.format_mean_std([1.0, 2.0, 3.0]) == "2.000 +- 1.000" and S.format_mean_std([0.5]) == "0.500"
    assert S.t_test_p([0.0, 0.0]) == 1.0 and S.t_test_p([1.0, 1.0]) == 0.0 and math.isnan(S.t_test_p([1.0]))
