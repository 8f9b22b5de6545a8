"""EF-LSTM (``parity: mmsa``) against MMSA 2.2.1's EF_LSTM module (see harness.py).

MMSA reads its LSTM after the last padded step (a bug, documented in ``mifusion.models.mmsa_ef_lstm``):
the batch here is unpadded, where MMSA and the corrected model agree. Compared in training mode (batch
statistics of the per-step BatchNorm, gradients) and in eval mode (running statistics).
"""

from __future__ import annotations

import pytest

from mifusion.config import ModelConfig, PenaltyConfig, SequenceEncoderConfig
from mifusion.models.build import build_model

from . import harness

STEPS, HIDDEN, LAYERS = 6, 5, 2
MODALITIES = ("text", "audio", "vision")


@pytest.fixture
def models():  # type: ignore[no-untyped-def]
    harness.require_mmsa()
    theirs = harness.mmsa_model(
        "ef_lstm", [harness.DIMS[m] for m in MODALITIES],
        hidden_dims=HIDDEN, num_layers=LAYERS, dropout=0.0, seq_lens=[STEPS] * 3,
    )  # fmt: skip
    cfg = ModelConfig(
        name="ef_lstm", sequence=SequenceEncoderConfig(num_layers=LAYERS), dropout=0.0,
        options={"lstm_dim": HIDDEN, "parity": "mmsa", "steps": STEPS},
    )  # fmt: skip
    batch = harness.feature_batch(4, dict.fromkeys(MODALITIES, STEPS), full=MODALITIES)
    ours = build_model(cfg, PenaltyConfig(), harness.feature_spec(batch, aligned=True)).double()
    rules = [
        ("Model.norm.", "norm."), ("Model.linear.", "head.1."), ("Model.out.", "head.4."),
        *harness.lstm_rules("Model.lstm.", "lstm.", LAYERS),
    ]  # fmt: skip
    return theirs, ours, harness.copy_weights(theirs, ours, harness.prefix_rule(rules))


def test_outputs_and_gradients_equal_mmsa(models) -> None:  # type: ignore[no-untyped-def]
    theirs, ours, mapping = models
    batch = harness.feature_batch(6, dict.fromkeys(MODALITIES, STEPS), seed=1, full=MODALITIES)
    for training in (True, False):
        theirs.train(training)
        ours.train(training)
        prediction = theirs(*(batch.sequences[m] for m in MODALITIES))["M"]
        out = ours(batch)
        harness.close(f"prediction (training={training})", out.prediction, prediction)
        if training:
            loss_theirs = (prediction.squeeze(-1) - batch.labels).abs().mean()
            loss_ours = (out.prediction - batch.labels).abs().mean()
            harness.compare_gradients(theirs, ours, mapping, loss_theirs, loss_ours)
