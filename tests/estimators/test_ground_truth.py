"""Closed-form truths of the ground-truth tasks against independent computations."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from mifusion.errors import ConfigError
from mifusion.estimators.closed_form import dense_correlation, gaussian_mi, student_t_mi, uniform_mi
from mifusion.estimators.ground_truth import TASKS, _uniform_task, dim_to_jsd, get_task, monte_carlo_js

REFERENCE_VALUES = {  # REFERENCE.md section 3, nats, 5 decimals
    "gauss-1d-rho0.75": 0.41334,
    "gauss-dense-2d": 0.29389,
    "gauss-dense-3d": 0.41334,
    "gauss-dense-5d": 0.59281,
    "gauss-dense-25d": 1.29218,
    "student-t-1d-nu1": 0.22417,
    "student-t-2d-nu1": 0.43195,
}


@pytest.mark.parametrize("name", sorted(REFERENCE_VALUES))
def test_reference_values(name: str) -> None:
    assert round(TASKS[name].truth, 5) == REFERENCE_VALUES[name]


@pytest.mark.parametrize("rho", [0.0, 0.5, 0.75, 0.9])
def test_bivariate_gaussian_formula(rho: float) -> None:
    assert TASKS[f"gauss-1d-rho{rho:g}"].truth == pytest.approx(-0.5 * math.log(1 - rho**2), abs=1e-12)


def test_independent_pairs_add_up() -> None:
    assert TASKS["gauss-pairs-5d"].truth == pytest.approx(5 * -0.5 * math.log(1 - 0.25), abs=1e-12)


def test_student_t_tends_to_gaussian_for_large_nu() -> None:
    cov = dense_correlation(2, 0.75)
    assert student_t_mi(cov, (1, 1), nu=1e7) == pytest.approx(gaussian_mi(cov, (1, 1)), abs=1e-5)
    assert student_t_mi(cov, (1, 1), nu=1.0) > gaussian_mi(cov, (1, 1))  # heavy tails add dependence


def test_uniform_formula_branches_meet() -> None:
    assert uniform_mi(0.5) == pytest.approx(1.0 / (4 * 0.5), abs=1e-12)
    assert uniform_mi(0.25) == pytest.approx(0.25 - math.log(0.5))


def test_total_correlation_of_three_gaussians() -> None:
    cov = dense_correlation(3, 0.5)
    assert TASKS["tc-gauss-3x1"].truth == pytest.approx(-0.5 * np.log(np.linalg.det(cov)))
    # chain rule: TC(X1, X2, X3) = I(X1; X2) + I((X1, X2); X3)
    chained = gaussian_mi(cov[:2, :2], (1, 1)) + gaussian_mi(cov, (2, 1))
    assert TASKS["tc-gauss-3x1"].truth == pytest.approx(chained)


@pytest.mark.parametrize("name", sorted(TASKS))
def test_truth_is_the_mean_pointwise_log_ratio(name: str) -> None:
    """Monte Carlo E_P[log p / prod p_i] from the densities (no determinant formula) matches the truth."""
    task = TASKS[name]
    parts = task.sample_latent(100_000, np.random.default_rng(1))
    ratio = task.log_ratio(parts)
    assert np.isfinite(ratio).all()
    standard_error = ratio.std() / math.sqrt(len(ratio))
    assert ratio.mean() == pytest.approx(task.truth, abs=5 * standard_error + 2e-3)


def test_uniform_large_noise_branch_by_monte_carlo() -> None:
    task = _uniform_task(1.0)
    ratio = task.log_ratio(task.sample_latent(100_000, np.random.default_rng(2)))
    assert task.truth == 0.25
    assert ratio.mean() == pytest.approx(0.25, abs=5e-3)


@pytest.mark.parametrize(
    "name",
    [
        "gauss-1d-rho0.5",
        "student-t-1d-nu1",
        "uniform-eps0.25",
        "asinh-gauss-1d-rho0.75",
        "x-sqrt-abs-x-gauss-1d-rho0.75",
    ],
)
def test_entropy_of_y_against_vasicek_estimate(name: str) -> None:
    task = TASKS[name]
    y = task.sample(200_000, np.random.default_rng(3))[1].double().numpy()[:, 0]
    assert task.entropy_y is not None
    assert stats.differential_entropy(y) == pytest.approx(task.entropy_y, abs=0.03)


@pytest.mark.parametrize("name", ["uniform-eps0.25", "asinh-gauss-1d-rho0.75", "student-t-1d-nu1"])
def test_truth_against_ksg(name: str) -> None:
    """Kraskov-Stoegbauer-Grassberger (scikit-learn) on observed samples, an estimator free of densities.

    Both variables are rank-transformed first (MI is invariant to monotone maps; KSG is biased on heavy tails).
    """
    feature_selection = pytest.importorskip("sklearn.feature_selection")
    x, y = TASKS[name].sample(20_000, np.random.default_rng(4))
    x_rank, y_rank = stats.rankdata(x.numpy()[:, 0]), stats.rankdata(y.numpy()[:, 0])
    ksg = feature_selection.mutual_info_regression(x_rank[:, None], y_rank, n_neighbors=5, random_state=0)[0]
    assert ksg == pytest.approx(TASKS[name].truth, abs=0.03)


def test_js_truth_against_grid_integration() -> None:
    """Deep InfoMax JS value at the optimum (2 JSD - 2 log 2) against a 2-d quadrature of the JSD."""
    rho = 0.75
    grid = np.linspace(-8, 8, 1601)
    xs, ys = np.meshgrid(grid, grid)
    p = stats.multivariate_normal([0, 0], [[1, rho], [rho, 1]]).pdf(np.stack([xs, ys], -1))
    q = stats.norm.pdf(xs) * stats.norm.pdf(ys)
    m = 0.5 * (p + q)
    cell = (grid[1] - grid[0]) ** 2
    jsd = 0.5 * (p * np.log(p / m)).sum() * cell + 0.5 * (q * np.log(q / m)).sum() * cell
    value, error = monte_carlo_js(TASKS["gauss-1d-rho0.75"], 400_000, np.random.default_rng(5))
    assert dim_to_jsd(value) == pytest.approx(jsd, abs=5 * error + 1e-3)


def test_js_truth_is_minus_log_four_at_independence() -> None:
    value, _ = monte_carlo_js(TASKS["gauss-1d-rho0"], 10_000, np.random.default_rng(0))
    assert value == pytest.approx(-math.log(4.0), abs=1e-9)


def test_sampling_is_seeded_and_shaped() -> None:
    task = TASKS["gauss-dense-5d"]
    a = task.sample(1000, np.random.default_rng(0))
    b = task.sample(1000, np.random.default_rng(0))
    assert [tuple(t.shape) for t in a] == [(1000, 5), (1000, 5)]
    assert all((u == v).all() for u, v in zip(a, b))
    assert np.corrcoef(a[0][:, 0].numpy(), a[1][:, 3].numpy())[0, 1] == pytest.approx(0.5, abs=0.08)


def test_unknown_task_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="choose one of"):
        get_task("gauss-7d")
