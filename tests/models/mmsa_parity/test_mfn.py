"""MFN against MMSA 2.2.1's MFN module (see harness.py).

The batch is word-aligned and unpadded: MMSA steps through every padded position and reads the last one,
mifusion reads each sample's true last step (``memory_fusion.py``); they agree without padding. MMSA's MOSI
config also averages audio and vision over time before this per-step model (``need_normalized: true``,
then its aligner repeats the mean at every step); that is a config choice of MMSA's runner, not part of
the module compared here. Compared: the prediction, the head's input (``L``) and every gradient.
"""

from __future__ import annotations

import pytest

from mifusion.config import ModelConfig, PenaltyConfig
from mifusion.models.build import build_model

from . import harness

STEPS = 5
MODALITIES = ("text", "audio", "vision")
SIZES = {"text_hidden": 4, "audio_hidden": 3, "vision_hidden": 5, "memory_dim": 6}
HIDDEN = {
    "attention_hidden": 7,
    "candidate_hidden": 5,
    "gamma1_hidden": 4,
    "gamma2_hidden": 3,
    "output_hidden": 6,
}
RULES = [
    ("Model.lstm_l.", "encoder.cells.cells.text."), ("Model.lstm_a.", "encoder.cells.cells.audio."),
    ("Model.lstm_v.", "encoder.cells.cells.vision."), ("Model.att1_fc1.", "encoder.attention.0."), ("Model.att1_fc2.", "encoder.attention.3."),
    ("Model.att2_fc1.", "encoder.memory.candidate.0."), ("Model.att2_fc2.", "encoder.memory.candidate.3."),
    ("Model.gamma1_fc1.", "encoder.memory.gamma1.0."), ("Model.gamma1_fc2.", "encoder.memory.gamma1.3."),
    ("Model.gamma2_fc1.", "encoder.memory.gamma2.0."), ("Model.gamma2_fc2.", "encoder.memory.gamma2.3."),
    ("Model.out_fc1.", "head.0."), ("Model.out_fc2.", "head.3."),
]  # fmt: skip


@pytest.fixture
def models():  # type: ignore[no-untyped-def]
    harness.require_mmsa()
    theirs = harness.mmsa_model(
        "mfn", [harness.DIMS[m] for m in MODALITIES], seq_lens=[STEPS] * 3,
        hidden_dims=[SIZES["text_hidden"], SIZES["audio_hidden"], SIZES["vision_hidden"]],
        memsize=SIZES["memory_dim"], windowsize=2,
        NN1Config={"drop": 0.0, "shapes": HIDDEN["attention_hidden"]},
        NN2Config={"drop": 0.0, "shapes": HIDDEN["candidate_hidden"]},
        gamma1Config={"drop": 0.0, "shapes": HIDDEN["gamma1_hidden"]},
        gamma2Config={"drop": 0.0, "shapes": HIDDEN["gamma2_hidden"]},
        outConfig={"drop": 0.0, "shapes": HIDDEN["output_hidden"]},
    )  # fmt: skip
    batch = harness.feature_batch(4, dict.fromkeys(MODALITIES, STEPS), full=MODALITIES)
    cfg = ModelConfig(name="mfn", dropout=0.0, options={**SIZES, **HIDDEN})
    ours = build_model(cfg, PenaltyConfig(), harness.feature_spec(batch, aligned=True)).double()
    return theirs, ours, harness.copy_weights(theirs, ours, harness.prefix_rule(RULES))


def test_outputs_and_gradients_equal_mmsa(models) -> None:  # type: ignore[no-untyped-def]
    theirs, ours, mapping = models
    batch = harness.feature_batch(5, dict.fromkeys(MODALITIES, STEPS), seed=1, full=MODALITIES)
    with harness.float64_by_default():  # MMSA's initial states are torch.zeros
        out_theirs = theirs(*(batch.sequences[m] for m in MODALITIES))
    out = ours(batch)
    harness.close("prediction", out.prediction, out_theirs["M"])
    harness.close("fused", out.fused, out_theirs["L"])  # type: ignore[arg-type]
    loss_theirs = (out_theirs["M"].squeeze(-1) - batch.labels).abs().mean()
    loss_ours = (out.prediction - batch.labels).abs().mean()
    harness.compare_gradients(theirs, ours, mapping, loss_theirs, loss_ours)


def test_padded_batch_reads_each_true_last_step(models) -> None:  # type: ignore[no-untyped-def]
    """Padded: each sample equals MMSA's module run on that sample cut to its length (the correction)."""
    theirs, ours, _ = models
    batch = harness.feature_batch(4, dict.fromkeys(MODALITIES, STEPS), seed=2, full=(), aligned=True)
    out = ours(batch)
    for i, length in enumerate(batch.lengths["text"].tolist()):
        with harness.float64_by_default():
            row = theirs.Model(*(batch.sequences[m][i : i + 1, :length] for m in MODALITIES))
        harness.close(f"sample {i}", out.prediction[i : i + 1], row["M"])
    assert batch.lengths["text"].min() < STEPS, "the batch must be padded"
