"""MLMF against MMSA 2.2.1's MLMF module and its multi-task loss (see harness.compare_multitask).

Built from MMSA's CH-SIMS config (its multi-task models are SIMS models), sizes shrunk, dropout 0; the
batch carries unimodal labels. MMSA's averaging over padding and padding-reading text LSTM are corrected as
for LF-DNN (``test_lf_dnn.py``); the batch's text is unpadded.
"""

from __future__ import annotations

import pytest

from mifusion.config import ModelConfig, PenaltyConfig, SequenceEncoderConfig
from mifusion.models.build import build_model

from . import harness, multitask_harness

TEXT_HIDDEN, UNIMODAL, POST, RANK = 8, 3, 6, 2
HEADS = {"post_text_dim": 4, "post_audio_dim": 3, "post_video_dim": 5}


@pytest.fixture
def models():  # type: ignore[no-untyped-def]
    harness.require_mmsa()
    theirs = multitask_harness.mmsa_multitask(
        "mlmf", hidden_dims=[TEXT_HIDDEN, UNIMODAL, UNIMODAL], rank=RANK,
        dropouts=[0.0] * 3, post_dropouts=[0.0] * 4, **HEADS,
    )  # fmt: skip
    w = multitask_harness.mmsa_weights(theirs)
    options = {
        "unimodal_dim": UNIMODAL, "rank": RANK, "post_text_dim": 4, "post_audio_dim": 3, "post_vision_dim": 5,
        "text_weight": w["T"] / w["M"], "audio_weight": w["A"] / w["M"], "vision_weight": w["V"] / w["M"],
    }  # fmt: skip
    cfg = ModelConfig(
        name="mlmf", sequence=SequenceEncoderConfig(hidden_dim=TEXT_HIDDEN), hidden_dim=POST, dropout=0.0,
        options=options,
    )  # fmt: skip
    batch = harness.feature_batch(6, harness.CLASSIC_STEPS)
    ours = build_model(cfg, PenaltyConfig(), harness.feature_spec(batch)).double()
    rules = [
        *harness.classic_rules(post_fusion=False),
        *multitask_harness.multitask_rules(),
        ("Model.audio_factor", "low_rank.factors.audio"),
        ("Model.video_factor", "low_rank.factors.vision"),
        ("Model.text_factor", "low_rank.factors.text"),
        ("Model.fusion_weights", "low_rank.rank_weights"),
        ("Model.fusion_bias", "low_rank.bias"),
    ]
    return theirs, ours, harness.copy_weights(theirs, ours, harness.prefix_rule(rules))


def test_outputs_losses_and_gradients_equal_mmsa(models) -> None:  # type: ignore[no-untyped-def]
    theirs, ours, mapping = models
    batch = multitask_harness.with_unimodal_labels(
        harness.feature_batch(6, harness.CLASSIC_STEPS, seed=1), seed=1
    )
    multitask_harness.compare_multitask(theirs, ours, mapping, batch)
