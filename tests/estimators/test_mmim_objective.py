"""MMIMObjective: term names and signs, estimator-stage routing, parity mode and the soundness of BA."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from mifusion.errors import ConfigError, ShapeError
from mifusion.estimators.entropy import LabelSplitEntropy
from mifusion.estimators.mmim import MMIMObjective, PairLikelihood
from mifusion.estimators.penalty import frozen

DIMS = {"text": 8, "audio": 4, "vision": 5}


def inputs(batch: int = 8) -> tuple[dict[str, torch.Tensor], torch.Tensor, torch.Tensor]:
    unimodal = {m: torch.randn(batch, d, requires_grad=True) for m, d in DIMS.items()}
    labels = torch.tensor([1.0, -1.0, 0.5, -2.0] * batch)[:batch]
    return unimodal, torch.randn(batch, 6, requires_grad=True), labels


def test_terms_have_explicit_names_and_signs() -> None:
    objective = MMIMObjective(DIMS, 6, alpha=0.2, beta=0.3)
    out = objective(*inputs())
    assert out.terms["nce"].weight == 0.2
    for pair in ("text_vision", "text_audio"):
        assert out.terms[f"ba_{pair}_lld"].weight == -0.3
        assert out.terms[f"ba_{pair}_entropy"].weight == -0.3
    assert all(torch.isfinite(t.value) for t in out.terms.values())
    assert {"norm/text", "norm/fused", "entropy_skipped", "ba_text_vision/sigma_mean"} <= set(out.diagnostics)


def test_entropy_weight_ablates_the_entropy_term_alone() -> None:
    out = MMIMObjective(DIMS, 6, alpha=0.2, beta=0.3, entropy_weight=0.0)(*inputs())
    for pair in ("text_vision", "text_audio"):
        assert out.terms[f"ba_{pair}_lld"].weight == -0.3
        assert out.terms[f"ba_{pair}_entropy"].weight == 0.0
    assert out.terms["nce"].weight == 0.2


def test_nce_is_the_sum_of_cpc_losses_and_at_least_zero() -> None:
    objective = MMIMObjective(DIMS, 6)
    unimodal, fused, labels = inputs(16)
    out = objective(unimodal, fused, labels)
    per_modality = [math.log(16) - float(out.diagnostics[f"nce/{m}"]) for m in DIMS]
    assert float(out.terms["nce"].value.detach()) == pytest.approx(sum(per_modality), abs=1e-5)
    assert all(v >= -1e-6 for v in per_modality)


def test_q_networks_are_trained_only_by_the_estimator_loss() -> None:
    objective = MMIMObjective(DIMS, 6)
    unimodal, fused, labels = inputs()
    out = objective(unimodal, fused, labels)
    q_params = [p for m in objective.modules() if isinstance(m, PairLikelihood) for p in m.parameters()]
    sum(t.weight * t.value for t in out.terms.values()).backward(retain_graph=True)  # type: ignore[union-attr]
    assert all(p.grad is None for p in q_params)
    assert unimodal["text"].grad is not None and fused.grad is not None
    unimodal["text"].grad = None
    out.estimator_loss.backward()
    assert all(p.grad is not None for p in q_params)
    assert unimodal["text"].grad is None


@pytest.mark.parametrize("batch", [1, 2, 8])
def test_small_batches_never_give_nan(batch: int) -> None:
    objective = MMIMObjective(DIMS, 6, min_group_samples=3)
    for _ in range(3):
        out = objective(*inputs(batch))
        total = sum(t.weight * t.value for t in out.terms.values()) + out.estimator_loss
        assert torch.isfinite(total)  # type: ignore[arg-type]
        total.backward()  # type: ignore[union-attr]
    if batch == 1:
        assert float(out.diagnostics["entropy_skipped"]) > 0


def test_parity_mode_reproduces_the_reference_behaviour() -> None:
    with pytest.raises(ConfigError, match="likelihood='reference'"):
        MMIMObjective(DIMS, 6, parity=True)
    objective = MMIMObjective(DIMS, 6, parity=True, likelihood="reference", entropy_memory=1)
    assert list(objective.projections.parameters())  # in q's optimiser, which never steps them
    terms = []
    for _ in range(3):
        out = objective(*inputs())
        assert out.estimator_loss is None  # q trains in the separate stage 1 only
        terms.append(out.terms["ba_text_vision_entropy"])
    values = [float(t.value.detach()) for t in terms]
    weights = [t.weight for t in terms]
    assert values[0] == 0.0 and values[1] != 0.0 and values[2] != 0.0  # H once the memory holds a batch
    assert weights[0] == weights[1] == 0.0 and weights[2] == -objective.beta  # in the loss at index > 1
    objective.new_epoch()
    assert float(objective(*inputs()).terms["ba_text_vision_entropy"].value.detach()) == 0.0


def test_shape_errors_name_the_argument() -> None:
    objective = MMIMObjective(DIMS, 6)
    unimodal, fused, labels = inputs()
    with pytest.raises(ShapeError, match="fused"):
        objective(unimodal, torch.randn(8, 7), labels)
    with pytest.raises(ShapeError, match='unimodal\\["audio"\\]'):
        objective({**unimodal, "audio": torch.randn(8, 9)}, fused, labels)
    with pytest.raises(ShapeError, match="labels"):
        objective(unimodal, fused, torch.randn(5))


def _train_with_ba_only(naive: bool, steps: int = 200) -> tuple[list[float], float, float]:
    """Encoders trained with only -BA (plus q's own loss) on independent random data (true MI 0).

    ``naive`` takes H on a trained 1-d tanh projection of y while log q stays on the raw 6-d y (the
    reference's mismatch, with the full likelihood). Returns the bounds, y's norm and q's sigma
    relative to the std of the y it models (the default models the standardised y: sigma as it is).
    """
    torch.manual_seed(0)
    dims = {"text": 8, "vision": 6}
    encoders = nn.ModuleDict({m: nn.Linear(10, d) for m, d in dims.items()})
    objective = MMIMObjective(dims, 4, pairs=(("text", "vision"),), beta=1.0)
    projection, entropy = nn.Linear(6, 1), LabelSplitEntropy()
    parameters = [*encoders.parameters(), *objective.parameters(), *projection.parameters()]
    optimizer = torch.optim.Adam(parameters, lr=1e-2)
    bounds = []
    for _ in range(steps):
        unimodal = {m: encoders[m](torch.randn(32, 10)) for m in dims}
        labels = torch.randn(32)
        out = objective(unimodal, torch.randn(32, 4), labels)
        lld, estimator_loss = out.terms["ba_text_vision_lld"].value, out.estimator_loss
        h = out.terms["ba_text_vision_entropy"].value
        if naive:
            pair = objective.likelihoods["text_vision"]
            with frozen(pair):
                lld, sigma = pair(unimodal["text"], unimodal["vision"])
            estimator_loss = -pair(unimodal["text"].detach(), unimodal["vision"].detach())[0]
            h = entropy(torch.tanh(projection(unimodal["vision"])), labels).value
        bound = lld + h
        optimizer.zero_grad()
        (estimator_loss - bound).backward()
        optimizer.step()
        bounds.append(float(bound.detach()))
    vision = unimodal["vision"].detach()
    if naive:
        relative_sigma = float(sigma.detach().mean()) / float(vision.std(0).mean())
    else:
        relative_sigma = float(out.diagnostics["ba_text_vision/sigma_mean"])
    return bounds, float(vision.norm(dim=-1).mean()), relative_sigma


def test_ba_objective_keeps_norms_and_sigma_bounded_under_encoder_training() -> None:
    """H and log q on the same y (relative ridge): rescaling y cannot raise the bound."""
    bounds, norm, relative_sigma = _train_with_ba_only(naive=False)
    assert 0.05 < norm < 20.0
    assert relative_sigma > 0.5
    assert max(bounds[-50:]) < 1.0  # the true MI is 0: no runaway growth of the estimate


def test_naive_design_inflates_the_bound_on_independent_data() -> None:
    """The mismatch the default avoids: shrinking y raises log q faster than the projected H falls."""
    bounds, _, _ = _train_with_ba_only(naive=True)
    assert max(bounds[-50:]) > 5.0  # nats of "mutual information" between independent variables
