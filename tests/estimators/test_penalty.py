"""DependencyPenalty: scopes, signs, gradient routing, availability masks and errors."""

from __future__ import annotations

import pytest
import torch

from mifusion.errors import ConfigError, ShapeError
from mifusion.estimators import ESTIMATORS, DependencyPenalty

DIMS = {"text": 6, "audio": 3, "vision": 4}


def reps_for(dims: dict[str, int], batch: int = 10, grad: bool = True) -> dict[str, torch.Tensor]:
    return {m: torch.randn(batch, d, requires_grad=grad) for m, d in dims.items()}


@pytest.mark.parametrize("name", ESTIMATORS.names())
def test_pairwise_penalty_of_every_family(name: str) -> None:
    penalty = DependencyPenalty(name, DIMS, scope="pairwise", hidden_dim=8, weight=0.5)
    reps = reps_for(DIMS)
    out = penalty(reps)
    assert set(out.per_pair) == {"text_audio", "text_vision", "audio_vision"}
    assert torch.allclose(out.estimate, sum(out.per_pair.values()))  # type: ignore[arg-type]
    assert torch.allclose(out.term, -0.5 * out.estimate)
    assert torch.isfinite(out.critic_loss)
    assert penalty.pointwise_scores(reps).shape == (10,)
    out.critic_loss.backward()
    assert all(p.grad is not None for p in penalty.parameters())


def test_total_correlation_of_two_modalities_is_the_pairwise_mi() -> None:
    dims = {"text": 5, "audio": 3}
    torch.manual_seed(0)
    tc = DependencyPenalty("dv", dims, scope="total_correlation", hidden_dim=8)
    torch.manual_seed(0)
    pairwise = DependencyPenalty("dv", dims, scope="pairwise", hidden_dim=8)
    reps = reps_for(dims)
    torch.manual_seed(1)
    a = tc(reps)
    torch.manual_seed(1)
    b = pairwise(reps)
    assert list(a.per_pair) == list(b.per_pair) == ["text_audio"]
    assert float(a.estimate.detach()) == pytest.approx(float(b.estimate.detach()))


@pytest.mark.parametrize("name", ["js", "dv", "mine", "wasserstein_gp", "smile"])
def test_term_trains_only_encoders_and_critic_loss_only_the_critic(name: str) -> None:
    penalty = DependencyPenalty(name, DIMS, hidden_dim=8)
    reps = reps_for(DIMS)
    out = penalty(reps)
    out.term.backward(retain_graph=True)
    assert all(p.grad is None for p in penalty.parameters())
    assert all(r.grad is not None for r in reps.values())
    for r in reps.values():
        r.grad = None
    out.critic_loss.backward()
    assert all(r.grad is None for r in reps.values())
    assert any(p.grad is not None and bool(p.grad.abs().sum() > 0) for p in penalty.parameters())


def test_one_backward_gives_the_critic_exactly_its_own_loss_gradient() -> None:
    penalty = DependencyPenalty("wasserstein_gp", DIMS, hidden_dim=8, weight=3.0)
    reps = reps_for(DIMS)
    torch.manual_seed(5)
    out = penalty(reps)
    (out.term + out.critic_loss).backward()
    combined = [p.grad.clone() for p in penalty.parameters()]  # type: ignore[union-attr]
    penalty.zero_grad()
    torch.manual_seed(5)
    penalty(reps).critic_loss.backward()
    for a, p in zip(combined, penalty.parameters()):
        assert torch.allclose(a, p.grad)  # type: ignore[arg-type]


def test_unavailable_samples_are_left_out() -> None:
    penalty = DependencyPenalty("js", DIMS, hidden_dim=8)
    reps = reps_for(DIMS, grad=False)
    mask = torch.tensor([True] * 7 + [False] * 3)
    torch.manual_seed(2)
    masked = penalty(reps, {"audio": mask})
    torch.manual_seed(2)
    subset = penalty({m: r[mask] for m, r in reps.items()})
    assert float(masked.estimate) == pytest.approx(float(subset.estimate))
    changed = {m: r.clone() for m, r in reps.items()}
    changed["text"][~mask] = 1e6
    torch.manual_seed(2)
    assert float(penalty(changed, {"audio": mask}).estimate) == pytest.approx(float(masked.estimate))


def test_a_term_with_fewer_than_two_available_samples_is_zero() -> None:
    penalty = DependencyPenalty("dv", DIMS, scope="pairwise", hidden_dim=8)
    mask = torch.zeros(10, dtype=torch.bool)
    mask[0] = True
    out = penalty(reps_for(DIMS), {"vision": mask})
    assert float(out.per_pair["text_vision"].detach()) == 0.0
    assert float(out.per_pair["audio_vision"].detach()) == 0.0
    assert torch.isfinite(out.estimate)


def test_errors_name_the_argument_and_the_fix() -> None:
    penalty = DependencyPenalty("js", DIMS, hidden_dim=8)
    with pytest.raises(ShapeError, match="unknown: \\['speech'\\]"):
        penalty({**reps_for(DIMS), "speech": torch.randn(10, 2)})
    with pytest.raises(ShapeError, match=r'reps\["audio"\].*expected \(batch, 3\)'):
        penalty({**reps_for(DIMS), "audio": torch.randn(10, 5)})
    with pytest.raises(ShapeError, match="available"):
        penalty(reps_for(DIMS), {"audio": torch.ones(4, dtype=torch.bool)})
    with pytest.raises(ConfigError, match="scope"):
        DependencyPenalty("js", DIMS, scope="global")
    with pytest.raises(ConfigError, match="unknown estimator"):
        DependencyPenalty("kl", DIMS)
    with pytest.raises(ConfigError, match="pairwise"):
        DependencyPenalty("infonce", DIMS, scope="total_correlation")


def test_js_penalty_raises_the_dependency_it_measures() -> None:
    torch.manual_seed(0)
    dims = {"text": 2, "audio": 2}
    encoder = torch.nn.Linear(2, 2)
    penalty = DependencyPenalty("js", dims, hidden_dim=16, weight=1.0)
    optimizer = torch.optim.Adam([*encoder.parameters(), *penalty.parameters()], lr=1e-2)
    estimates = []
    for _ in range(150):
        text = torch.randn(64, 2)
        reps = {"text": text, "audio": encoder(text) + torch.randn(64, 2)}
        out = penalty(reps)
        optimizer.zero_grad()
        (out.term + out.critic_loss).backward()
        optimizer.step()
        estimates.append(float(out.estimate.detach()))
    assert sum(estimates[-20:]) / 20 > sum(estimates[:20]) / 20 + 0.05
