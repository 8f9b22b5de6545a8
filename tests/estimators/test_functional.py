"""Pure bounds, negatives and critics: invariants that hold for any input."""

from __future__ import annotations

import math

import pytest
import torch

from mifusion.estimators import functional as F
from mifusion.estimators.critics import JointCritic, SeparableCritic, standardize
from mifusion.estimators.negatives import derangement, negative_indices


def test_log_mean_exp_matches_naive_and_survives_large_scores() -> None:
    scores = torch.randn(50)
    assert torch.allclose(F.log_mean_exp(scores), torch.log(torch.exp(scores).mean()), atol=1e-6)
    big = torch.full((10,), 1000.0)
    assert float(F.log_mean_exp(big)) == pytest.approx(1000.0)


@pytest.mark.parametrize("value", [-3.0, 0.0, 7.5])
def test_constant_critic_gives_zero_for_dv_and_infonce(value: float) -> None:
    joint, marginal = torch.full((16,), value), torch.full((40,), value)
    assert float(F.dv_bound(joint, marginal)) == pytest.approx(0.0, abs=1e-5)
    assert float(F.infonce_bound(torch.full((16, 16), value))) == pytest.approx(0.0, abs=1e-5)
    assert float(F.smile_bound(joint, marginal, tau=10.0)) == pytest.approx(0.0, abs=1e-5)
    assert float(F.wasserstein_bound(joint, marginal)) == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("batch", [2, 7, 64, 1024])
def test_infonce_never_exceeds_log_batch(batch: int) -> None:
    scores = torch.randn(batch, batch) * 3
    scores.diagonal().add_(1e4)  # perfectly separated positives
    assert float(F.infonce_bound(scores)) <= math.log(batch) + 1e-6
    assert float(F.infonce_bound(scores)) == pytest.approx(math.log(batch), abs=1e-4)


def test_js_divergence_is_zero_for_constant_zero_critic_and_bounded_by_log2() -> None:
    zero = torch.zeros(8)
    assert float(F.js_divergence(zero, zero)) == pytest.approx(0.0, abs=1e-6)
    separated = F.js_divergence(torch.full((8,), 50.0), torch.full((8,), -50.0))
    assert float(separated) == pytest.approx(math.log(2.0), abs=1e-6)


def test_nwj_is_finite_for_huge_scores() -> None:
    assert torch.isfinite(F.nwj_bound(torch.zeros(4), torch.full((4,), 1e6)))


def test_gaussian_log_likelihood_matches_torch_distributions() -> None:
    y, mean, log_var = torch.randn(5, 3), torch.randn(5, 3), torch.randn(5, 3)
    normal = torch.distributions.Normal(mean, torch.exp(0.5 * log_var))
    expected = normal.log_prob(y).sum(-1)
    assert torch.allclose(F.gaussian_log_likelihood(y, mean, log_var), expected, atol=1e-5)
    reference = F.gaussian_log_likelihood(y, mean, log_var, "reference")
    assert torch.allclose(reference, -0.5 * ((y - mean) ** 2 / log_var.exp()).sum(-1))


def test_club_matches_explicit_all_pairs() -> None:
    y, mean, log_var = torch.randn(6, 2), torch.randn(6, 2), torch.randn(6, 2)
    loglik = -0.5 * ((y.unsqueeze(0) - mean.unsqueeze(1)) ** 2 / log_var.exp().unsqueeze(1)).sum(-1)  # (i, j)
    expected = loglik.diagonal().mean() - loglik.mean()
    assert float(F.club_bound(y, mean, log_var)) == pytest.approx(float(expected), abs=1e-5)


def test_gaussian_entropy_closed_form() -> None:
    cov = torch.tensor([[2.0, 0.3], [0.3, 1.0]])
    expected = torch.distributions.MultivariateNormal(torch.zeros(2), cov).entropy()
    assert float(F.gaussian_entropy(cov)) == pytest.approx(float(expected), abs=1e-5)


@pytest.mark.parametrize("n", [2, 3, 10, 257])
def test_derangements_have_no_fixed_points(n: int) -> None:
    generator = torch.Generator().manual_seed(n)
    for _ in range(20):
        perm = derangement(n, generator=generator)
        assert sorted(perm.tolist()) == list(range(n))
        assert not bool((perm == torch.arange(n)).any())


def test_all_pairs_are_every_off_diagonal_pair() -> None:
    index = negative_indices(5, 2, "all_pairs")
    pairs = set(zip(index[0].tolist(), index[1].tolist()))
    assert pairs == {(i, j) for i in range(5) for j in range(5) if i != j}


@pytest.mark.parametrize("batch", [3, 8, 33])
def test_three_variable_negatives_draw_each_variable_from_a_different_sample(batch: int) -> None:
    for negatives in ("derangement", "all_pairs"):
        index = negative_indices(batch, 3, negatives)
        assert torch.equal(index[0].unique(), torch.arange(batch))
        for column in index.T.tolist():
            assert len(set(column)) == 3
        for row in index[1:]:  # each permuted variable is a permutation of the batch per draw
            assert torch.equal(row[:batch].sort().values, torch.arange(batch))


def test_robust_standardisation_is_scale_invariant_bounded_and_detached() -> None:
    z = torch.distributions.Cauchy(0.0, 1.0).sample((256, 3))
    a, b = standardize(z), standardize(1000.0 * z + 5.0)
    assert torch.allclose(a, b, atol=1e-4)
    assert float(a.abs().max()) < 3.0 * 30  # c asinh(u / c) grows like 3 log|u|
    x = torch.randn(16, 2, requires_grad=True)
    grad = torch.autograd.grad(standardize(x, "robust").sum(), x)[0]
    assert torch.isfinite(grad).all()
    assert torch.equal(standardize(torch.ones(4, 2)), torch.zeros(4, 2))


def test_separable_pair_matrix_matches_rowwise_scores() -> None:
    for critic in (SeparableCritic((3, 2), hidden_dim=8), JointCritic((3, 2), hidden_dim=8)):
        x, y = torch.randn(5, 3), torch.randn(5, 2)
        matrix = critic.pair_matrix(x, y)
        assert torch.allclose(matrix.diagonal(), critic([x, y]), atol=1e-5)
        assert torch.allclose(matrix[1, 3], critic([x[1:2], y[3:4]])[0], atol=1e-5)
