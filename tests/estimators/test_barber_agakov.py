"""Barber-Agakov: running standardisation of y and x, and the full-covariance q."""

from __future__ import annotations

import math

import pytest
import torch

from mifusion.errors import ConfigError
from mifusion.estimators.barber_agakov import BarberAgakov, RunningAffine


def test_running_affine_initialises_then_averages_and_is_fixed_in_eval() -> None:
    affine = RunningAffine(1, momentum=0.5)
    affine(torch.tensor([[0.0], [1.0], [2.0]]))  # median 1, MAD 1
    assert affine.center.item() == pytest.approx(1.0)
    assert affine.scale.item() == pytest.approx(1.4826)
    affine(torch.tensor([[2.0], [3.0], [4.0]]))  # median 3
    assert affine.center.item() == pytest.approx(2.0)
    affine.eval()
    shifted, log_scale = affine(torch.tensor([[100.0], [2.0]]))
    assert shifted[1].item() == pytest.approx(0.0)  # the running centre, not this batch's median
    assert log_scale.item() == pytest.approx(math.log(1.4826))
    assert not affine.center.requires_grad


def test_eval_estimate_of_a_row_does_not_depend_on_its_batch() -> None:
    torch.manual_seed(0)
    est = BarberAgakov(2, 2, hidden_dim=8, num_layers=1, covariance="full")
    est(torch.randn(32, 2), torch.randn(32, 2))  # one training-mode batch sets the statistics
    est.eval()
    x, y = torch.randn(8, 2), torch.randn(8, 2)
    alone = est.pointwise(x[:1], y[:1])
    together = est.pointwise(torch.cat([x[:1], 50 * x[1:]]), torch.cat([y[:1], 50 * y[1:]]))
    assert torch.allclose(alone, together[:1])


def test_full_covariance_log_likelihood_is_the_gaussian_density() -> None:
    torch.manual_seed(1)
    est = BarberAgakov(1, 3, hidden_dim=8, num_layers=1, covariance="full", standardize="none")
    with torch.no_grad():
        est.decorrelate.copy_(torch.randn(3, 3))  # type: ignore[union-attr]
    x, y = torch.randn(16, 1), torch.randn(16, 3)
    est(x, y)  # training mode: set the running statistics of y
    est.eval()
    got = est.pointwise(x, y)
    params = est.q(x)
    center, scale = est.y_affine.center, est.y_affine.scale
    lower = torch.eye(3) + torch.tril(est.decorrelate, diagonal=-1)  # type: ignore[arg-type]
    inverse = torch.linalg.inv(lower)
    for i in range(16):  # q(y_std | x) = N(mean, M^-1 D M^-T); y = centre + scale * y_std
        cov_std = inverse @ torch.diag(params.log_variance[i].exp()) @ inverse.T
        cov = torch.diag(scale) @ cov_std @ torch.diag(scale)
        dist = torch.distributions.MultivariateNormal(center + scale * params.mean[i], cov)
        assert got[i].item() == pytest.approx(dist.log_prob(y[i]).item(), abs=1e-4)


def test_full_covariance_reaches_a_dense_gaussian_truth_that_diagonal_cannot() -> None:
    torch.manual_seed(2)
    cov = torch.full((4, 4), 0.5) + 0.5 * torch.eye(4)  # [x; y], 2 + 2 dims, every correlation 0.5
    joint = torch.distributions.MultivariateNormal(torch.zeros(4), cov)
    truth = 0.5 * (2 * torch.logdet(cov[:2, :2]) - torch.logdet(cov)).item()
    entropy_y = 0.5 * (torch.logdet(cov[2:, 2:]) + 2 * math.log(2 * math.pi * math.e)).item()
    data = joint.sample((4096,))
    estimates = {}
    for covariance in ("diagonal", "full"):
        torch.manual_seed(3)
        est = BarberAgakov(2, 2, hidden_dim=16, num_layers=1, entropy_y=entropy_y, covariance=covariance)
        opt = torch.optim.Adam(est.parameters(), lr=1e-2)
        for _ in range(300):
            batch = data[torch.randint(0, 4096, (128,))]
            opt.zero_grad()
            est(batch[:, :2], batch[:, 2:]).loss.backward()
            opt.step()
        est.eval()
        with torch.no_grad():
            estimates[covariance] = est(data[:, :2], data[:, 2:]).estimate.item()
    assert abs(estimates["full"] - truth) < 0.03
    assert estimates["full"] > estimates["diagonal"] + 0.01


def test_unknown_covariance_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="covariance"):
        BarberAgakov(1, 1, covariance="cholesky")


def test_student_t_log_likelihood_matches_torch_and_tends_to_the_gaussian() -> None:
    from mifusion.estimators.functional import gaussian_log_likelihood, student_t_log_likelihood

    y, mean, log_variance = torch.randn(6, 1), torch.randn(6, 1), 0.3 * torch.randn(6, 1)
    for dof in (1.0, 3.0):
        got = student_t_log_likelihood(y, mean, log_variance, torch.tensor(dof))
        ref = torch.distributions.StudentT(dof, mean, (0.5 * log_variance).exp()).log_prob(y).squeeze(1)
        assert torch.allclose(got, ref, atol=1e-5)
    y, mean, log_variance = (torch.randn(6, 3, dtype=torch.float64) for _ in range(3))
    far = student_t_log_likelihood(y, mean, log_variance, torch.tensor(1e6, dtype=torch.float64))
    assert torch.allclose(far, gaussian_log_likelihood(y, mean, log_variance), atol=1e-3)


def test_student_t_q_learns_heavy_tails_and_stays_finite_on_cauchy() -> None:
    torch.manual_seed(4)
    cauchy = torch.distributions.Cauchy(0.0, 1.0)
    est = BarberAgakov(1, 1, hidden_dim=16, num_layers=1, distribution="student_t")
    opt = torch.optim.Adam(est.parameters(), lr=1e-3)
    for _ in range(150):
        x, y = cauchy.sample((64, 1)), cauchy.sample((64, 1))
        out = est(x, y)
        assert torch.isfinite(out.estimate) and torch.isfinite(out.loss)
        opt.zero_grad()
        out.loss.backward()
        opt.step()
    assert float(out.diagnostics["dof"]) < 2.5  # from 5 towards Cauchy's 1


def test_q_starts_as_the_standard_normal_for_every_x() -> None:
    est = BarberAgakov(3, 2, hidden_dim=8, num_layers=2)
    params = est.q(torch.randn(5, 3))
    assert torch.equal(params.mean, torch.zeros(5, 2))
    assert torch.equal(params.log_variance, torch.zeros(5, 2))


def test_student_t_needs_the_full_likelihood() -> None:
    with pytest.raises(ConfigError, match="student_t"):
        BarberAgakov(1, 1, distribution="student_t", likelihood="reference")
