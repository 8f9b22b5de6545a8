"""standardize="running" (the default of critic estimators and InfoNCE): running median/MAD statistics that
re-anchor to a rescaled input at once, fixed in eval mode."""

from __future__ import annotations

import pytest
import torch

from mifusion.errors import ConfigError
from mifusion.estimators import ESTIMATORS
from mifusion.estimators.critic_estimator import CriticEstimator
from mifusion.estimators.critics import RunningAffine
from mifusion.estimators.infonce import InfoNCE

FAMILIES = ("dv", "nwj", "js", "smile", "wasserstein_gp")


def build(name: str, **options: object) -> CriticEstimator:
    estimator = ESTIMATORS.get(name).builder(2, 1, hidden_dim=8, num_layers=1, **options)
    assert isinstance(estimator, CriticEstimator)
    return estimator


@pytest.mark.parametrize("name", FAMILIES)
def test_running_mode_is_finite_on_cauchy_and_fixed_in_eval(name: str) -> None:
    torch.manual_seed(0)
    estimator = build(name, standardize="running")
    cauchy = torch.distributions.Cauchy(0.0, 1.0)
    out = estimator(cauchy.sample((64, 2)), cauchy.sample((64, 1)))
    assert torch.isfinite(out.estimate) and torch.isfinite(out.loss)
    estimator.eval()
    x, y = torch.randn(8, 2), torch.randn(8, 1)
    alone = estimator.pointwise(x[:2], y[:2])
    with_outliers = estimator.pointwise(torch.cat([x[:2], 1e4 * x[2:]]), torch.cat([y[:2], 1e4 * y[2:]]))
    assert torch.allclose(alone, with_outliers[:2])  # the batch's own statistics are not used


def test_robust_mode_depends_on_the_batch_and_running_mode_does_not() -> None:
    torch.manual_seed(1)
    robust, running = build("dv", standardize="robust"), build("dv")
    running(torch.randn(64, 2), torch.randn(64, 1))
    running.eval()
    x, y = torch.randn(8, 2), torch.randn(8, 1)
    shifted = (torch.cat([x[:1], x[1:] + 5.0]), torch.cat([y[:1], y[1:] + 5.0]))
    assert not torch.allclose(robust.pointwise(x, y)[:1], robust.pointwise(*shifted)[:1])
    assert torch.allclose(running.pointwise(x, y)[:1], running.pointwise(*shifted)[:1])


def test_unknown_standardize_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="standardize"):
        build("dv", standardize="ema")


@pytest.mark.parametrize("name", (*FAMILIES, "infonce"))
def test_running_is_the_default(name: str) -> None:
    estimator = ESTIMATORS.get(name).builder(2, 1, hidden_dim=8, num_layers=1)
    assert isinstance(estimator, (CriticEstimator, InfoNCE))
    assert estimator.standardize == "running"


def test_running_statistics_reanchor_when_the_input_is_rescaled() -> None:
    torch.manual_seed(2)
    affine = RunningAffine(1)
    for _ in range(20):
        affine(torch.randn(64, 1))
    slow = RunningAffine(1, reanchor=None)
    slow.load_state_dict(affine.state_dict())
    big = 1000.0 * torch.randn(64, 1) + 50.0
    assert float(affine(big)[0].abs().median()) < 2.0  # followed in one step
    assert float(slow(big)[0].abs().median()) > 50.0  # the plain moving average lags
    before = affine.scale.clone()
    affine(1000.0 * torch.randn(64, 1) + 50.0)  # same law: a small moving-average step, no jump
    assert abs(float(affine.scale / before) - 1.0) < 0.1


def test_default_wasserstein_estimate_is_scale_invariant() -> None:
    x = torch.randn(128, 2)
    y = x[:, :1] + 0.5 * torch.randn(128, 1)
    values = []
    for scale in (1.0, 1000.0):
        torch.manual_seed(3)
        estimator = build("wasserstein_gp")
        values.append(float(estimator(scale * x, scale * y).estimate.detach()))
    assert values[0] == pytest.approx(values[1], abs=1e-4)
