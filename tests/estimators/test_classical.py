"""KSG and Gaussian (canonical-correlation) MI against closed-form truths."""

from __future__ import annotations

import numpy as np
import pytest

from mifusion.errors import ConfigError
from mifusion.estimators.beyond_normal import BEYOND_NORMAL
from mifusion.estimators.classical import CLASSICAL, canonical_correlations, cca_mi, ksg_mi
from mifusion.estimators.ground_truth import TASKS


@pytest.mark.parametrize(
    "name",
    [
        "gauss-1d-rho0",
        "gauss-1d-rho0.75",
        "gauss-dense-5d",
        "1v1-additive-0.75",
        "multinormal-sparse-3-3-2-2.0",
    ],
)
def test_ksg_is_close_to_the_truth(name: str) -> None:
    task = TASKS.get(name) or BEYOND_NORMAL[name]
    x, y = task.sample_arrays(4000, np.random.default_rng(0))
    assert abs(ksg_mi(x, y) - task.truth) < max(0.05, 0.1 * task.truth)


@pytest.mark.parametrize("name", ["gauss-1d-rho0.5", "gauss-dense-5d", "multinormal-sparse-5-5-2-2.0"])
def test_cca_is_exact_on_gaussians(name: str) -> None:
    task = TASKS.get(name) or BEYOND_NORMAL[name]
    x, y = task.sample_arrays(20_000, np.random.default_rng(1))
    assert abs(cca_mi(x, y) - task.truth) < 0.02


def test_canonical_correlations_of_the_two_pair_task() -> None:
    x, y = BEYOND_NORMAL["multinormal-sparse-3-3-2-2.0"].sample_arrays(50_000, np.random.default_rng(2))
    assert np.allclose(canonical_correlations(x, y), [0.8, 0.8, 0.0], atol=0.02)


def test_cca_sees_only_linear_dependence_and_ksg_sees_more() -> None:
    x = np.random.default_rng(3).normal(size=(3000, 1))
    y = x**2 + 0.1 * np.random.default_rng(4).normal(size=(3000, 1))
    assert cca_mi(x, y) < 0.01
    assert ksg_mi(x, y) > 1.0


def test_ksg_is_near_zero_on_independent_data() -> None:
    rng = np.random.default_rng(5)
    assert ksg_mi(rng.normal(size=(3000, 3)), rng.normal(size=(3000, 2))) < 0.02


@pytest.mark.parametrize("name", list(CLASSICAL))
def test_bad_inputs_are_config_errors(name: str) -> None:
    estimator = CLASSICAL[name]
    with pytest.raises(ConfigError, match="same number of rows"):
        estimator(np.zeros((10, 1)), np.zeros((11, 1)))
    with pytest.raises(ConfigError, match="finite"):
        estimator(np.full((10, 1), np.nan), np.zeros((10, 1)))
    with pytest.raises(ConfigError, match="at least"):
        estimator(np.zeros((2, 1)), np.zeros((2, 1)))


def test_constant_and_duplicated_columns_stay_finite() -> None:
    rng = np.random.default_rng(6)
    x = rng.normal(size=(500, 1))
    assert np.isfinite(cca_mi(np.concatenate([x, x, np.ones_like(x)], axis=1), x + rng.normal(size=x.shape)))
