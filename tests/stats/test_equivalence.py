"""TOST: the verdict agrees with its interval, and the p-values match a direct computation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from mifusion.stats import tost_paired


@pytest.mark.parametrize("seed", range(20))
def test_verdict_equals_interval_inside_the_margin(seed: int) -> None:
    rng = np.random.default_rng(seed)
    diffs = rng.normal(rng.uniform(-0.05, 0.05), rng.uniform(0.005, 0.05), size=int(rng.integers(3, 10)))
    out = tost_paired(list(diffs), margin=0.03)
    assert out.equivalent == (out.low > -0.03 and out.high < 0.03)
    assert out.low < out.mean < out.high


def test_p_value_is_the_larger_one_sided_p() -> None:
    diffs = [0.012, -0.004, 0.02, 0.006, 0.001]
    out = tost_paired(diffs, margin=0.03)
    n, mean, sd = 5, float(np.mean(diffs)), float(np.std(diffs, ddof=1))
    se = sd / math.sqrt(n)
    lower = stats.ttest_1samp(np.array(diffs) + 0.03, 0.0, alternative="greater").pvalue
    upper = stats.ttest_1samp(np.array(diffs) - 0.03, 0.0, alternative="less").pvalue
    assert out.p == pytest.approx(max(lower, upper))
    assert out.high - mean == pytest.approx(stats.t.ppf(0.95, n - 1) * se)


def test_too_few_pairs_claim_nothing() -> None:
    assert not tost_paired([0.0], margin=0.03).equivalent
    with pytest.raises(ValueError, match="margin"):
        tost_paired([0.1, 0.2], margin=0.0)


@pytest.mark.parametrize("seed", range(5))
def test_tost_matches_statsmodels_ttost_paired(seed: int) -> None:
    from statsmodels.stats.weightstats import ttost_paired

    rng = np.random.default_rng(100 + seed)
    base = rng.normal(0.8, 0.05, size=8)
    treat = base + rng.normal(rng.uniform(-0.02, 0.02), 0.02, size=8)
    out = tost_paired(list(treat - base), margin=0.03)
    p_ref = ttost_paired(treat, base, -0.03, 0.03)[0]
    assert out.p == pytest.approx(p_ref, rel=1e-9)
    assert out.equivalent == (p_ref < 0.05)
