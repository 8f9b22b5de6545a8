"""split_gradients: one estimator forward gives exactly the gradients of the two-pass form (critic frozen
for the estimate, inputs detached for the loss), and the penalty's state advances once per call."""

from __future__ import annotations

import pytest
import torch

from mifusion.estimators import ESTIMATORS, DependencyPenalty
from mifusion.estimators.base import MIEstimator
from mifusion.estimators.critics import RunningAffine
from mifusion.estimators.penalty import frozen
from mifusion.estimators.split_gradients import split_gradients

DIMS = (3, 2)


def _estimator(name: str) -> MIEstimator:
    torch.manual_seed(0)
    estimator = ESTIMATORS.get(name).builder(*DIMS, hidden_dim=8, num_layers=1)
    estimator(torch.randn(32, DIMS[0]), torch.randn(32, DIMS[1]))  # training mode: running statistics set
    return estimator.eval()  # eval: the running statistics stay fixed, so both forms see the same ones


def _views() -> list[torch.Tensor]:
    torch.manual_seed(1)
    return [torch.randn(12, d, requires_grad=True) for d in DIMS]


def _grads(
    estimator: MIEstimator, views: list[torch.Tensor]
) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    inputs = [v.grad.clone() if v.grad is not None else torch.zeros_like(v) for v in views]
    params = [p.grad.clone() if p.grad is not None else torch.zeros_like(p) for p in estimator.parameters()]
    return inputs, params


@pytest.mark.parametrize("name", ESTIMATORS.names())
def test_one_forward_gives_the_two_pass_gradients(name: str) -> None:
    estimator = _estimator(name)
    views = _views()
    torch.manual_seed(2)
    with frozen(estimator):
        live = estimator(*views)
    torch.manual_seed(2)
    detached = estimator(*[v.detach() for v in views])
    (live.estimate + detached.loss).backward()
    reference = _grads(estimator, views)

    estimator.zero_grad()
    views = _views()
    torch.manual_seed(2)
    out = split_gradients(estimator, views)
    assert float(out.estimate.detach()) == pytest.approx(float(live.estimate.detach()), abs=1e-6)
    assert float(out.loss.detach()) == pytest.approx(float(detached.loss.detach()), abs=1e-6)
    (out.estimate + out.loss).backward()
    for got, want in zip(
        [*_grads(estimator, views)[0], *_grads(estimator, views)[1]], [*reference[0], *reference[1]]
    ):
        assert torch.allclose(got, want, atol=1e-6), name


def test_the_estimate_reaches_only_the_inputs_and_the_loss_only_the_estimator() -> None:
    estimator = _estimator("wasserstein_gp").train()
    views = _views()
    out = split_gradients(estimator, views)
    out.estimate.backward(retain_graph=True)
    assert all(v.grad is not None for v in views)
    assert all(p.grad is None for p in estimator.parameters())
    for v in views:
        v.grad = None
    out.loss.backward()
    assert all(v.grad is None for v in views)
    assert any(p.grad is not None and bool(p.grad.abs().sum() > 0) for p in estimator.parameters())
    assert "gradient_penalty" in out.diagnostics  # returned in the output, not kept on the estimator


@pytest.mark.parametrize(("name", "affines"), [("js", 2), ("dv", 2), ("ba", 2), ("infonce", 2)])
def test_running_statistics_update_once_per_variable_per_penalty_call(
    name: str, affines: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    penalty = DependencyPenalty(name, {"text": 3, "audio": 2}, hidden_dim=8, scope="pairwise")
    calls: list[int] = []
    update = RunningAffine._update

    def counted(self: RunningAffine, center: torch.Tensor, scale: torch.Tensor) -> None:
        calls.append(1)
        update(self, center, scale)

    monkeypatch.setattr(RunningAffine, "_update", counted)
    reps = {"text": torch.randn(16, 3, requires_grad=True), "audio": torch.randn(16, 2, requires_grad=True)}
    out = penalty(reps)
    (out.term + out.critic_loss).backward()
    assert len(calls) == affines


@pytest.mark.parametrize("name", ["dv", "wasserstein_sn"])
def test_estimate_and_critic_loss_share_one_standardisation(name: str) -> None:
    """For these families the critic loss is minus the estimate: on one forward they agree exactly."""
    penalty = DependencyPenalty(name, {"text": 3, "audio": 2}, hidden_dim=8)
    for step in range(3):  # the running statistics move between calls, never within one
        torch.manual_seed(step)
        reps = {"text": torch.randn(16, 3, requires_grad=True), "audio": 2.0 * torch.randn(16, 2)}
        out = penalty(reps)
        assert float(out.critic_loss) == pytest.approx(-float(out.estimate), abs=1e-6)
