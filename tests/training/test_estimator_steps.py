"""Estimator steps: k critic steps per batch on one forward, and the reference's separate estimator pass."""

from __future__ import annotations

import dataclasses
import itertools

import pytest
import torch
from tiny_training_model import TinyModel, tiny_config, tiny_prepared

from mifusion.config import ModelConfig, PenaltyConfig
from mifusion.data.batch import collate
from mifusion.training.optim import build_optimizers
from mifusion.training.steps import estimator_pass_step, train_step


def _penalized(critic_steps: int):  # type: ignore[no-untyped-def]
    from mifusion.models.build import build_model

    data = tiny_prepared()
    penalty = PenaltyConfig(estimator="js", weight=0.1, critic_steps=critic_steps)
    model = build_model(ModelConfig(name="lf_dnn", hidden_dim=16), penalty, data.spec)
    batch = collate(data.dataset["train"], range(16), data.spec.modalities)
    return model, batch


@pytest.mark.parametrize("critic_steps", [1, 3])
def test_critic_steps_step_the_critic_k_times_on_one_forward(critic_steps: int) -> None:
    torch.manual_seed(0)
    model, batch = _penalized(critic_steps)
    optim = build_optimizers(model, tiny_config().train)
    assert optim.estimator is not None
    critic = [p for p in model.penalty.parameters() if p.requires_grad]
    snapshots = [torch.cat([p.detach().flatten() for p in critic])]

    def record(*_: object) -> None:
        snapshots.append(torch.cat([p.detach().flatten() for p in critic]))

    optim.estimator.register_step_post_hook(record)
    forwards = []
    model.model.register_forward_hook(lambda *_: forwards.append(1))
    main_before = [p.detach().clone() for p in optim.main_params]
    result = train_step(model, batch, optim, clip=1.0, critic_steps=critic_steps)
    assert not result.skipped and len(forwards) == 1  # encoders ran once
    assert len(snapshots) == 1 + critic_steps  # k estimator-optimiser steps
    assert all(not torch.equal(a, b) for a, b in itertools.pairwise(snapshots))
    # the main network stepped once, on the main loss only
    assert any(not torch.equal(a, p) for a, p in zip(main_before, optim.main_params, strict=True))


@pytest.mark.parametrize("clip_scope", ["per_optimizer", "all"])
def test_separate_pass_steps_only_the_estimators_and_discards_every_other_gradient(clip_scope: str) -> None:
    data = tiny_prepared()
    batch = collate(data.dataset["train"], range(16), data.spec.modalities)
    torch.manual_seed(0)
    model = TinyModel(data.spec)
    twin = TinyModel(data.spec)
    twin.load_state_dict(model.state_dict())
    optim, twin_optim = (build_optimizers(m, tiny_config().train) for m in (model, twin))
    text_before = model.text_encoder.weight.detach().clone()
    critic_before = model.critic.weight.weight.detach().clone()

    value = estimator_pass_step(model, batch, optim, clip=1.0, clip_scope=clip_scope)
    assert value is not None
    assert all(p.grad is None for p in [*optim.main_params, *optim.estimator_params])  # discarded
    assert torch.equal(text_before, model.text_encoder.weight)
    assert not torch.equal(critic_before, model.critic.weight.weight)

    # the estimators' update is the efficient stage's one: same step from the detached loss alone
    out = twin(batch)
    assert twin_optim.estimator is not None
    twin_optim.estimator.zero_grad()
    out.estimator_loss.backward(inputs=twin_optim.estimator_params)
    torch.nn.utils.clip_grad_norm_(twin_optim.estimator_params, 1.0)
    twin_optim.estimator.step()
    assert torch.allclose(twin.critic.weight.weight, model.critic.weight.weight, atol=1e-6)


def test_trainer_takes_k_critic_steps_per_batch() -> None:
    from mifusion.experiments.build import build_trainer

    torch.manual_seed(0)
    model, _ = _penalized(2)
    cfg = dataclasses.replace(tiny_config(epochs=1), penalty=PenaltyConfig(estimator="js", critic_steps=2))
    trainer = build_trainer(model, tiny_prepared(), cfg, 0)
    assert trainer.optim.estimator is not None
    steps: list[int] = []
    trainer.optim.estimator.register_step_post_hook(lambda *_: steps.append(1))
    trainer.fit()
    assert len(steps) == 2 * 6  # 96 training samples in batches of 16
