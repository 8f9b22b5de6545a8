"""benchmarks/claims/stats.py against scipy (t intervals, paired t test) and a hand-worked Holm."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats as st

_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "claims" / "stats.py"


def _load():
    spec = importlib.util.spec_from_file_location("claims_stats", _PATH)
    module = importlib.util.module_from_spec(spec)
    sys.modules["claims_stats"] = module
    spec.loader.exec_module(module)
    return module


S = _load()


def test_t_interval_matches_scipy() -> None:
    x = np.random.default_rng(0).normal(1.0, 2.0, size=7)
    iv = S.t_interval(x, 0.95)
    low, high = st.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=st.sem(x))
    assert iv.low == pytest.approx(low, rel=1e-10)
    assert iv.high == pytest.approx(high, rel=1e-10)
    assert iv.n == 7


def test_paired_difference_matches_scipy_ttest_rel() -> None:
    rng = np.random.default_rng(1)
    base = rng.normal(0.8, 0.05, size=10)
    treat = base - 0.02 + rng.normal(0, 0.01, size=10)
    d = S.paired_difference(treat, base, "t")
    ref = st.ttest_rel(treat, base)
    assert d.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    assert d.mean == pytest.approx(float(np.mean(treat - base)))
    assert d.low < d.mean < d.high


def test_paired_difference_rejects_unequal_arms() -> None:
    with pytest.raises(ValueError, match="seeds"):
        S.paired_difference([1.0, 2.0], [1.0], "x")


def test_holm_matches_manual_stepdown() -> None:
    p = [0.01, 0.04, 0.03, 0.005]
    # sorted: 0.005*4=0.02, 0.01*3=0.03, 0.03*2=0.06, 0.04*1=0.04 -> monotone 0.06
    assert S.holm(p) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert S.holm([0.5, math.nan])[0] == pytest.approx(0.5)
    assert math.isnan(S.holm([0.5, math.nan])[1])


def test_holm_between_raw_and_bonferroni_and_monotone() -> None:
    # scipy has no Holm; check the defining bounds (raw <= Holm <= Bonferroni) and monotonicity
    p = np.random.default_rng(2).uniform(0, 0.2, size=6)
    adj = np.array(S.holm(list(p)))
    assert np.all(adj >= p) and np.all(adj <= np.minimum(1, p * len(p)) + 1e-15)
    order = np.argsort(p)
    assert np.all(np.diff(adj[order]) >= -1e-15)
    assert S.holm([0.2]) == pytest.approx([0.2])


def test_holm_family_widens_intervals_and_drives_verdict() -> None:
    rng = np.random.default_rng(3)
    base = rng.normal(1.0, 0.05, size=10)
    strong = S.paired_difference(base - 0.2 + rng.normal(0, 0.01, 10), base, "strong")
    null = S.paired_difference(base + rng.normal(0, 0.05, 10), base, "null")
    fam = S.holm_family([strong, null])
    for d in fam:
        assert d.low_holm <= d.low and d.high_holm >= d.high
        assert d.p_holm >= d.p_value
    assert S.verdict(fam[0], lower_is_better=True) == "holds"
    assert S.verdict(fam[0], lower_is_better=False) == "fails"
    worse = S.paired_difference(base + 0.1, base + rng.normal(0, 0.001, 10), "w")
    assert S.verdict(S.holm_family([worse])[0], lower_is_better=True) == "fails"
    single = S.paired_difference([0.1], [0.0])
    assert S.verdict(single, lower_is_better=True) == "inconclusive"
