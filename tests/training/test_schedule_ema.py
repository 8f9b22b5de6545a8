"""Per-step lr schedules, layer-wise lr decay and the weight average (train.lr_schedule, warmup_fraction,
text_lr_decay, ema_decay): their arithmetic, their wiring into the trainer, and their config errors."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
from tiny_training_model import TinyModel, tiny_config, tiny_prepared

from mifusion.config import load
from mifusion.encoders.text import TextEncoder, tiny_bert
from mifusion.experiments.build import build_trainer
from mifusion.experiments.validation import config_problems
from mifusion.training.ema import WeightAverage, averaged_weights
from mifusion.training.layer_decay import parameter_depths, text_layer_groups
from mifusion.training.schedule import build_step_schedule, lr_factor
from mifusion.training.seed import seed_everything
from mifusion.training.trainer import Trainer


@pytest.mark.parametrize("shape", ["constant", "linear", "cosine"])
def test_warmup_rises_linearly_then_the_shape_decays_to_zero(shape: str) -> None:
    factors = [lr_factor(s, total=20, warmup=4, shape=shape) for s in range(20)]
    assert factors[:4] == [0.25, 0.5, 0.75, 1.0]
    assert factors[4] == 1.0
    tail = factors[4:]
    assert all(a >= b for a, b in itertools.pairwise(tail))
    expected_last = {"constant": 1.0, "linear": 1 / 16, "cosine": 0.5 * (1 + math.cos(math.pi * 15 / 16))}
    assert factors[-1] == pytest.approx(expected_last[shape])
    assert lr_factor(25, total=20, warmup=4, shape=shape) == pytest.approx(
        1.0 if shape == "constant" else 0.0
    )


def test_step_schedule_scales_every_group_and_plateau_means_none() -> None:
    weight = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([{"params": [weight], "lr": 1.0}, {"params": [], "lr": 0.1}])
    assert build_step_schedule(opt, "plateau", 0.0, 10) is None
    sched = build_step_schedule(opt, "linear", 0.2, 10)
    assert sched is not None
    assert [g["lr"] for g in opt.param_groups] == pytest.approx([0.5, 0.05])
    opt.step()
    sched.step()
    assert [g["lr"] for g in opt.param_groups] == pytest.approx([1.0, 0.1])


def test_layer_decay_gives_each_bert_layer_its_own_lr_by_module() -> None:
    encoder = TextEncoder(tiny_bert(30, 8, 3, 2, 16))
    depths, layers = parameter_depths(encoder)
    assert layers == 3
    bert = encoder.model
    assert depths[id(bert.embeddings.word_embeddings.weight)] == 0
    for i, block in enumerate(bert.encoder.layer):
        assert {depths[id(p)] for p in block.parameters()} == {i + 1}
    groups = text_layer_groups(encoder, lr=1e-4, decay=0.8)
    assert [g["lr"] for g in groups] == pytest.approx([1e-4 * 0.8**k for k in (3, 2, 1, 0)])
    in_groups = [id(p) for g in groups for p in g["params"]]  # type: ignore[attr-defined]
    assert sorted(in_groups) == sorted(id(p) for p in encoder.parameters())
    single = text_layer_groups(encoder, lr=1e-4, decay=1.0)
    assert len(single) == 1 and single[0]["name"] == "text_encoder"


def test_weight_average_follows_the_formula_and_swaps_back() -> None:
    lin = torch.nn.Linear(2, 1)
    start = lin.weight.detach().clone()
    ema = WeightAverage(lin, decay=0.9)
    expected = start.clone()
    for step in range(30):
        with torch.no_grad():
            lin.weight.add_(1.0)
        d = min(0.9, (1 + step) / (10 + step))
        expected = d * expected + (1 - d) * lin.weight.detach()
        ema.update(lin)
    live = lin.weight.detach().clone()
    with averaged_weights(ema, lin):
        torch.testing.assert_close(lin.weight.detach(), expected)
    assert torch.equal(lin.weight.detach(), live)
    twin = WeightAverage(torch.nn.Linear(2, 1), decay=0.5)
    twin.load_state_dict(ema.state_dict())
    assert twin.updates == 30 and twin.decay == 0.9
    torch.testing.assert_close(twin.shadow["weight"], expected)


def _fit(**train: object) -> tuple[Trainer, list[dict[str, float]]]:
    data = tiny_prepared()
    seed_everything(3)
    trainer = build_trainer(TinyModel(data.spec), data, tiny_config(**train), 3)
    return trainer, trainer.fit().history


def test_trainer_steps_the_linear_schedule_per_batch_and_skips_plateau() -> None:
    trainer, history = _fit(lr_schedule="linear", warmup_fraction=0.0, epochs=3, plateau_patience=0)
    steps = len(trainer.sampler)
    expected = [0.01 * (1 - (e + 1) * steps / (3 * steps)) for e in range(3)]
    assert [row["lr"] for row in history] == pytest.approx(expected)


def test_trainer_validates_and_selects_the_averaged_weights() -> None:
    trainer, history = _fit(ema_decay=0.9, epochs=2)
    assert trainer.ema is not None and trainer.ema.updates == 2 * len(trainer.sampler)
    best = trainer.state.best_epoch
    if best == 2:  # the restored weights are the average's, not the last live ones
        for name, p in trainer.model.named_parameters():
            if name in trainer.ema.shadow:
                torch.testing.assert_close(p.detach(), trainer.ema.shadow[name])
    _, plain = _fit(epochs=2)
    assert history[0]["valid/mae"] != plain[0]["valid/mae"]
    assert history[0]["train/task"] == plain[0]["train/task"]  # training itself is unchanged


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("train.text_lr_decay=0", "train.text_lr_decay=0.0 is out of range"),
        ("train.text_lr_decay=1.5", "train.text_lr_decay=1.5 is out of range"),
        ("train.ema_decay=1", "train.ema_decay=1.0 is out of range"),
        ("train.warmup_fraction=-0.1", "train.warmup_fraction=-0.1 is out of range"),
        ("train.warmup_fraction=0.1", "train.warmup_fraction=0.1 needs a per-step schedule"),
    ],
)
def test_bad_values_are_one_line_config_problems(override: str, message: str) -> None:
    problems = config_problems(load(None, [override]))
    assert len(problems) == 1 and problems[0].startswith(message) and "\n" not in problems[0]


def test_unknown_schedule_is_rejected_at_load() -> None:
    from mifusion.errors import ConfigError

    with pytest.raises(ConfigError, match=r"train\.lr_schedule must be one of"):
        load(None, ["train.lr_schedule=step"])


@pytest.mark.parametrize(
    "override", ["train.ema_decay=1.5", "train.warmup_fraction=0.1", "train.text_lr_decay=0"]
)
def test_cli_exits_2_with_one_line(
    override: str, tmp_path: object, capsys: pytest.CaptureFixture[str]
) -> None:
    from mifusion.cli import main

    assert main(["train", "--set", override, "--out", str(tmp_path), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and override.split("=")[0] in err
