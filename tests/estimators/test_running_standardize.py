"""standardize="running" for critic estimators: running median/MAD statistics, fixed in eval mode."""

from __future__ import annotations

import pytest
import torch

from mifusion.errors import ConfigError
from mifusion.estimators import ESTIMATORS
from mifusion.estimators.critic_estimator import CriticEstimator

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
    robust, running = build("dv"), build("dv", standardize="running")
    running(torch.randn(64, 2), torch.randn(64, 1))
    running.eval()
    x, y = torch.randn(8, 2), torch.randn(8, 1)
    shifted = (torch.cat([x[:1], x[1:] + 5.0]), torch.cat([y[:1], y[1:] + 5.0]))
    assert not torch.allclose(robust.pointwise(x, y)[:1], robust.pointwise(*shifted)[:1])
    assert torch.allclose(running.pointwise(x, y)[:1], running.pointwise(*shifted)[:1])


def test_unknown_standardize_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="standardize"):
        build("dv", standardize="ema")
