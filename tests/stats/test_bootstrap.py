"""The hierarchical bootstrap against scipy's bootstrap and the analytic standard error on known cases."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as st

from mifusion import stats as S


def _arms(seed: int, seeds: int = 8, clips: int = 300) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = rng.uniform(-3, 3, size=clips)
    base = labels + rng.normal(0, 1.0, size=(seeds, clips)) + rng.normal(0, 0.3, size=(seeds, 1))
    treat = labels + rng.normal(0, 0.8, size=(seeds, clips)) + rng.normal(0, 0.3, size=(seeds, 1))
    return treat, base, labels


def test_seed_level_alone_matches_scipy_percentile_bootstrap() -> None:
    treat, base, labels = _arms(0)
    per_seed = S.STATISTICS["mae"](treat, np.broadcast_to(labels, treat.shape)) - S.STATISTICS["mae"](
        base, np.broadcast_to(labels, base.shape)
    )
    ours = S.hierarchical_bootstrap(
        treat, base, labels, S.STATISTICS["mae"], n_boot=4000, resample=("seeds",)
    )
    ref = st.bootstrap((per_seed,), np.mean, n_resamples=4000, method="percentile", rng=1)
    width = ref.confidence_interval.high - ref.confidence_interval.low
    assert ours.estimate == pytest.approx(per_seed.mean())
    assert ours.low == pytest.approx(ref.confidence_interval.low, abs=0.1 * width)
    assert ours.high == pytest.approx(ref.confidence_interval.high, abs=0.1 * width)


def test_clip_level_alone_gives_the_analytic_standard_error() -> None:
    treat, base, labels = _arms(1, seeds=1, clips=2000)
    per_clip = np.abs(treat[0] - labels) - np.abs(base[0] - labels)
    analytic = per_clip.std(ddof=1) / np.sqrt(per_clip.size)
    out = S.hierarchical_bootstrap(treat, base, labels, S.STATISTICS["mae"], n_boot=2000, resample=("clips",))
    assert out.se == pytest.approx(analytic, rel=0.1)


def test_adding_the_clip_level_widens_the_seed_interval() -> None:
    treat, base, labels = _arms(2, seeds=5, clips=200)
    seeds_only = S.hierarchical_bootstrap(treat, base, labels, S.STATISTICS["mae"], 1000, resample=("seeds",))
    both = S.hierarchical_bootstrap(treat, base, labels, S.STATISTICS["mae"], 1000)
    assert both.se > seeds_only.se and both.levels == ("seeds", "clips")
    assert both.high < 0  # 0.8 vs 1.0 noise: the treatment's MAE is clearly lower


def test_grounds_level_and_shape_checks() -> None:
    stacks = [_arms(s, seeds=3, clips=50) for s in range(4)]
    treat, base, labels = (np.stack([a[i] for a in stacks]) for i in range(3))
    out = S.hierarchical_bootstrap(treat, base, labels, S.STATISTICS["acc2_non0"], n_boot=200)
    assert out.levels == ("grounds", "seeds", "clips") and out.low <= out.estimate <= out.high
    with pytest.raises(ValueError, match="pair"):
        S.hierarchical_bootstrap(treat, base[:, :2], labels, S.STATISTICS["mae"])
    with pytest.raises(ValueError, match="settings"):
        S.hierarchical_bootstrap(treat, base, labels, S.STATISTICS["mae"], resample=("epochs",))


def test_corr_statistic_matches_numpy() -> None:
    rng = np.random.default_rng(4)
    p, t = rng.normal(size=(3, 40)), rng.normal(size=(3, 40))
    ref = [np.corrcoef(p[i], t[i])[0, 1] for i in range(3)]
    assert S.STATISTICS["corr"](p, t) == pytest.approx(ref)
    assert np.isnan(S.STATISTICS["corr"](np.ones((1, 5)), t[:1, :5])[0])
    assert np.isnan(S.STATISTICS["acc2_non0"](p[:1, :3], np.zeros((1, 3)))[0])
