"""Every registered estimator: shapes, stability, gradients, function/module agreement, a convergence smoke."""

from __future__ import annotations

import math

import pytest
import torch

from mifusion.errors import ConfigError, ShapeError
from mifusion.estimators import ESTIMATORS, Bound, MIEstimator, critic_gradient_norms
from mifusion.estimators import functional as F
from mifusion.estimators.critic_estimator import CriticEstimator
from mifusion.estimators.infonce import InfoNCE

NAMES = ESTIMATORS.names()
CRITIC_FAMILIES = ("dv", "mine", "nwj", "js", "smile", "wasserstein_gp", "wasserstein_sn")


def build(name: str, x_dim: int = 3, y_dim: int = 2, **options: object) -> MIEstimator:
    return ESTIMATORS.get(name).builder(x_dim, y_dim, hidden_dim=16, num_layers=2, **options)


def test_every_family_is_registered() -> None:
    expected = {
        "ba",
        "infonce",
        "dv",
        "mine",
        "nwj",
        "js",
        "smile",
        "wasserstein_gp",
        "wasserstein_sn",
        "club",
    }
    assert expected <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_declares_bound_and_unit(name: str) -> None:
    estimator = build(name)
    assert isinstance(type(estimator).bound, Bound)
    assert type(estimator).bound == ESTIMATORS.get(name).bound
    assert isinstance(type(estimator).unit, str)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("batch", [1, 2, 3, 64])
def test_finite_on_gaussian_inputs_at_any_batch(name: str, batch: int) -> None:
    torch.manual_seed(batch)
    estimator = build(name)
    x, y = torch.randn(batch, 3, requires_grad=True), torch.randn(batch, 2, requires_grad=True)
    out = estimator(x, y)
    assert out.estimate.shape == () and out.loss.shape == ()
    assert torch.isfinite(out.estimate) and torch.isfinite(out.loss)
    (out.loss + out.estimate).backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()


@pytest.mark.parametrize("name", NAMES)
def test_finite_on_identical_rows_and_cauchy_inputs(name: str) -> None:
    torch.manual_seed(0)
    estimator = build(name)
    cauchy = torch.distributions.Cauchy(0.0, 1.0)
    cases = [
        (torch.ones(8, 3), torch.ones(8, 2)),
        (torch.ones(2, 3), torch.zeros(2, 2)),
        (cauchy.sample((256, 3)) * 1e3, cauchy.sample((256, 2))),
    ]
    for x, y in cases:
        x.requires_grad_(True)
        out = estimator(x, y)
        assert torch.isfinite(out.estimate) and torch.isfinite(out.loss), (name, x.shape)
        out.loss.backward()
        assert x.grad is not None and torch.isfinite(x.grad).all()
        for p in estimator.parameters():
            assert p.grad is None or torch.isfinite(p.grad).all()


@pytest.mark.parametrize("name", NAMES)
def test_every_parameter_gets_a_gradient_from_the_loss(name: str) -> None:
    torch.manual_seed(1)
    estimator = build(name)
    out = estimator(torch.randn(16, 3), torch.randn(16, 2))
    out.loss.backward()
    for pname, p in estimator.named_parameters():
        assert p.grad is not None, f"{name}: {pname} got no gradient"
        assert torch.isfinite(p.grad).all()


@pytest.mark.parametrize("name", NAMES)
def test_wrong_shapes_raise_shape_error(name: str) -> None:
    estimator = build(name)
    with pytest.raises(ShapeError, match="features"):
        estimator(torch.randn(4, 5), torch.randn(4, 2))
    with pytest.raises(ShapeError, match="batch"):
        estimator(torch.randn(4, 3), torch.randn(5, 2))
    with pytest.raises(ShapeError):
        estimator(torch.randn(4, 3, 1), torch.randn(4, 2))


@pytest.mark.parametrize("name", CRITIC_FAMILIES)
@pytest.mark.parametrize("critic", ["joint", "separable"])
@pytest.mark.parametrize("negatives", ["derangement", "all_pairs"])
def test_total_correlation_of_three_variables(name: str, critic: str, negatives: str) -> None:
    estimator = ESTIMATORS.get(name).builder(3, 2, 4, hidden_dim=8, critic=critic, negatives=negatives)
    views = [torch.randn(6, d, requires_grad=True) for d in (3, 2, 4)]
    out = estimator(*views)
    assert torch.isfinite(out.estimate)
    out.loss.backward()
    assert all(v.grad is not None for v in views)


@pytest.mark.parametrize("name", ["ba", "infonce", "club"])
def test_two_variable_families_refuse_three_variables(name: str) -> None:
    with pytest.raises(ConfigError, match="pairwise"):
        ESTIMATORS.get(name).builder(3, 2, 4)


def test_unknown_options_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="critic"):
        build("dv", critic="bilinear")
    with pytest.raises(ConfigError, match="negatives"):
        build("js", negatives="shuffle")


PURE = {
    "dv": F.dv_bound,
    "mine": F.dv_bound,
    "nwj": F.nwj_bound,
    "js": F.js_divergence,
    "smile": lambda j, m: F.smile_bound(j, m, 5.0),
    "wasserstein_gp": F.wasserstein_bound,
    "wasserstein_sn": F.wasserstein_bound,
}


@pytest.mark.parametrize("name", CRITIC_FAMILIES)
def test_module_agrees_with_pure_function(name: str) -> None:
    estimator = build(name)
    assert isinstance(estimator, CriticEstimator)
    estimator.eval()  # spectral norm's power iteration would otherwise move between the two calls
    x, y = torch.randn(12, 3), torch.randn(12, 2)
    torch.manual_seed(3)
    out = estimator(x, y)
    torch.manual_seed(3)
    scores = estimator.scores((x, y))
    assert float(out.estimate.detach()) == pytest.approx(
        float(PURE[name](scores.joint, scores.marginal).detach()), abs=1e-6
    )


def test_infonce_module_agrees_with_function_and_is_capped() -> None:
    estimator = InfoNCE(3, 2, critic="predictor", num_layers=0, scores="dot", temperature=0.01)
    x = torch.randn(10, 3)
    y = x[:, :2] * 100
    out = estimator(x, y)
    assert float(out.estimate.detach()) == pytest.approx(
        float(F.infonce_bound(estimator.score_matrix(x, y)).detach())
    )
    assert float(out.estimate.detach()) <= math.log(10) + 1e-6


@pytest.mark.parametrize("name", ["dv", "infonce"])
def test_constant_critic_estimates_zero(name: str) -> None:
    estimator = build(name)
    for p in estimator.parameters():
        torch.nn.init.zeros_(p)
    out = estimator(torch.randn(32, 3), torch.randn(32, 2))
    assert float(out.estimate.detach()) == pytest.approx(0.0, abs=1e-6)


def test_wasserstein_cannot_be_inflated_by_rescaling_inputs() -> None:
    estimator = build("wasserstein_sn")
    x, y = torch.randn(64, 3), torch.randn(64, 2)
    torch.manual_seed(0)
    small = estimator(x, y).estimate.detach()
    torch.manual_seed(0)
    large = estimator(1e4 * x, 1e4 * y).estimate.detach()
    assert float(large) == pytest.approx(float(small), abs=1e-4)
    norms = critic_gradient_norms(estimator, x, y)  # type: ignore[arg-type]
    assert set(norms) == {"joint", "marginal", "interpolate"}
    assert all(float(v) <= 1.0 + 1e-3 for v in norms.values())


def gaussian_pairs(n: int, rho: float, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.randn(n, 1, generator=generator)
    y = rho * x + math.sqrt(1 - rho**2) * torch.randn(n, 1, generator=generator)
    return x, y


@pytest.mark.parametrize(
    ("name", "options"),
    [("dv", {}), ("infonce", {}), ("ba", {"entropy_y": 0.5 * math.log(2 * math.pi * math.e)})],
)
def test_convergence_smoke_on_a_one_dimensional_gaussian(name: str, options: dict[str, float]) -> None:
    torch.manual_seed(0)
    truth = -0.5 * math.log(1 - 0.75**2)  # 0.413
    generator = torch.Generator().manual_seed(0)
    estimator = ESTIMATORS.get(name).builder(1, 1, hidden_dim=32, num_layers=2, **options)
    optimizer = torch.optim.Adam(estimator.parameters(), lr=3e-3)
    for _ in range(300):
        out = estimator(*gaussian_pairs(128, 0.75, generator))
        optimizer.zero_grad()
        out.loss.backward()
        optimizer.step()
    with torch.no_grad():
        estimates = [float(estimator(*gaussian_pairs(512, 0.75, generator)).estimate) for _ in range(10)]
    assert sum(estimates) / len(estimates) == pytest.approx(truth, abs=0.1)
