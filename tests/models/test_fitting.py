"""Every model, with and without a penalty, fits 64 synthetic samples; a signal modality is really used."""

from __future__ import annotations

import pytest
import torch

from mifusion.config import PenaltyConfig
from mifusion.data.batch import MultimodalBatch
from mifusion.models import MODELS
from mifusion.models.base import FusionModel
from mifusion.models.build import build_model
from mifusion.models.testing import tiny_batch, tiny_model_config, tiny_spec
from mifusion.objectives import compose_loss, task_loss

pytest.importorskip("transformers")

ALL = ("text", "audio", "vision")


def train(model: FusionModel, batch: MultimodalBatch, steps: int, target: float | None = None) -> float:
    """Full-batch Adam on task + terms (+ estimator loss); stops early once the L1 task loss <= target."""
    optimiser = torch.optim.Adam(model.parameters(), lr=3e-3)
    loss = float("inf")
    for _ in range(steps):
        out = model(batch)
        task = task_loss(out.prediction, batch.labels)
        total = compose_loss(task, out.terms).total
        if out.estimator_loss is not None:
            total = total + out.estimator_loss
        optimiser.zero_grad()
        total.backward()
        optimiser.step()
        loss = float(task.detach())
        if target is not None and loss <= target:
            break
    return loss


@pytest.mark.parametrize("name", MODELS.names())
@pytest.mark.parametrize("penalty", [None, "js"])
def test_model_fits_64_samples(name: str, penalty: str | None) -> None:
    if name == "mmim":
        pytest.importorskip("mifusion.estimators.mmim")
    if penalty:
        pytest.importorskip("mifusion.estimators.penalty")
    spec = tiny_spec(ALL, aligned=MODELS.get(name).needs_aligned)
    batch = tiny_batch(spec, 64, seed=1, signal=ALL)
    torch.manual_seed(0)
    cfg = PenaltyConfig(estimator=penalty, critic_hidden=8, critic_layers=1, weight=0.05)
    model = build_model(tiny_model_config(name), cfg, spec)
    constant = float((batch.labels - batch.labels.median()).abs().mean())
    loss = train(model, batch, steps=400, target=0.5 * constant)
    assert loss <= 0.5 * constant, (loss, constant)


def _validation_mae(modalities: tuple[str, ...]) -> float:
    spec = tiny_spec(modalities)
    full = tiny_spec(ALL)
    train_batch = _restrict(tiny_batch(full, 256, seed=2, signal=("audio",)), modalities)
    valid_batch = _restrict(tiny_batch(full, 128, seed=3, signal=("audio",)), modalities)
    torch.manual_seed(0)
    model = build_model(tiny_model_config("lf_dnn"), None, spec)
    train(model, train_batch, steps=150)
    model.eval()
    with torch.no_grad():
        return float((model(valid_batch).prediction - valid_batch.labels).abs().mean())


def _restrict(batch: MultimodalBatch, modalities: tuple[str, ...]) -> MultimodalBatch:
    batch.present = {m: v for m, v in batch.present.items() if m in modalities}
    return batch


def test_removing_the_signal_modality_worsens_validation_mae() -> None:
    with_audio = _validation_mae(ALL)
    without_audio = _validation_mae(("text", "vision"))
    assert with_audio < 0.7 * without_audio, (with_audio, without_audio)
