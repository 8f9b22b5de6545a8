"""The trainer's contract: callbacks in one protocol, a versioned TrainerState as the checkpoint schema."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from tiny_training_model import TinyModel, tiny_config, tiny_prepared

from mifusion.errors import DataError
from mifusion.experiments.build import build_trainer, train_settings
from mifusion.training.callbacks import Callback
from mifusion.training.seed import seed_everything
from mifusion.training.state import STATE_VERSION, TrainerState


class Recorder(Callback):
    def __init__(self) -> None:
        self.calls: list[str] = []

    def on_fit_start(self, trainer: Any) -> None:
        self.calls.append("fit_start")

    def on_batch_start(self, trainer: Any, batch: Any) -> None:
        self.calls.append("batch_start")

    def on_batch_end(self, trainer: Any, result: Any) -> None:
        self.calls.append("batch_end")

    def on_phase_start(self, trainer: Any, phase: str) -> None:
        self.calls.append(f"{phase}_start")

    def on_phase_end(self, trainer: Any, phase: str) -> None:
        self.calls.append(f"{phase}_end")

    def on_epoch_end(self, trainer: Any, row: dict[str, float]) -> None:
        self.calls.append(f"epoch_end {int(row['epoch'])}")

    def on_validated(self, trainer: Any, epoch: int, metrics: dict[str, float]) -> None:
        self.calls.append(f"validated {epoch}")

    def on_fit_end(self, trainer: Any) -> None:
        self.calls.append("fit_end")


def test_every_hook_runs_in_order_and_last_pt_holds_the_versioned_state(tmp_path: Path) -> None:
    data, cfg, recorder = tiny_prepared(), tiny_config(epochs=2, early_stopping_patience=100), Recorder()
    seed_everything(0)
    trainer = build_trainer(TinyModel(data.spec), data, cfg, 0, tmp_path, callbacks=[recorder])
    trainer.fit()
    batches = len(trainer.sampler)
    epoch = ["batch_start", "batch_end"] * batches + ["valid_start", "valid_end"]
    assert recorder.calls[0] == "fit_start" and recorder.calls[-1] == "fit_end"
    first = recorder.calls[1 : recorder.calls.index("epoch_end 1") + 4]
    assert first[: len(epoch)] == epoch
    assert first[-3:] == ["checkpoints_start", "checkpoints_end", "validated 1"]
    saved = torch.load(tmp_path / "last.pt", weights_only=True)["trainer"]
    assert saved["version"] == STATE_VERSION
    assert TrainerState.from_dict(saved) == trainer.state and trainer.state.epoch == 2


def test_a_state_of_another_version_is_refused() -> None:
    state = TrainerState(epoch=1).to_dict()
    with pytest.raises(DataError, match="version 99"):
        TrainerState.from_dict({**state, "version": 99})
    with pytest.raises(DataError, match="fields"):
        TrainerState.from_dict({**state, "extra": 1})


def test_settings_read_critic_steps_from_the_penalty_only_when_there_is_one() -> None:
    from dataclasses import replace

    cfg = tiny_config()
    with_steps = replace(cfg, penalty=replace(cfg.penalty, critic_steps=3))
    assert train_settings(with_steps).critic_steps == 1  # no estimator: one step
    penalised = replace(with_steps, penalty=replace(with_steps.penalty, estimator="js"))
    assert train_settings(penalised).critic_steps == 3
