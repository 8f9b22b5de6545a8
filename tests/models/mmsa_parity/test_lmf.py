"""LMF (``parity: mmsa``) against MMSA 2.2.1's LMF module (see harness.py and test_tfn.py).

MMSA's LMF has no post-fusion layers: the low-rank fusion regresses the label itself, and its text
subnetwork outputs half the text LSTM's width. Its ``Feature_f`` (the per-rank products) is not part of the
loss and mifusion's ``fused`` is the (B, 1) fusion output, so only the prediction, the unimodal vectors and
the gradients are compared.
"""

from __future__ import annotations

import pytest

from mifusion.config import ModelConfig, PenaltyConfig, SequenceEncoderConfig
from mifusion.models.build import build_model

from . import harness

TEXT_HIDDEN, UNIMODAL, RANK = 8, 3, 2


@pytest.fixture
def models():  # type: ignore[no-untyped-def]
    harness.require_mmsa()
    theirs = harness.mmsa_model(
        "lmf", [harness.DIMS[m] for m in ("text", "audio", "vision")],
        hidden_dims=[TEXT_HIDDEN, UNIMODAL, UNIMODAL], rank=RANK, dropouts=[0.0, 0.0, 0.0, 0.0],
    )  # fmt: skip
    cfg = ModelConfig(
        name="lmf", sequence=SequenceEncoderConfig(hidden_dim=TEXT_HIDDEN), dropout=0.0,
        options={"unimodal_dim": UNIMODAL, "rank": RANK, "parity": "mmsa"},
    )  # fmt: skip
    batch = harness.feature_batch(6, harness.CLASSIC_STEPS)
    ours = build_model(cfg, PenaltyConfig(), harness.feature_spec(batch)).double()
    rules = [
        *harness.classic_rules(post_fusion=False),
        ("Model.audio_factor", "low_rank.factors.audio"), ("Model.video_factor", "low_rank.factors.vision"),
        ("Model.text_factor", "low_rank.factors.text"), ("Model.fusion_weights", "low_rank.rank_weights"),
        ("Model.fusion_bias", "low_rank.bias"),
    ]  # fmt: skip
    mapping = harness.copy_weights(theirs, ours, harness.prefix_rule(rules))
    return theirs, ours, mapping


def test_outputs_and_gradients_equal_mmsa(models) -> None:  # type: ignore[no-untyped-def]
    theirs, ours, mapping = models
    batch = harness.feature_batch(6, harness.CLASSIC_STEPS, seed=1)
    harness.compare_classic(theirs, ours, mapping, batch, fused=False)


def test_padded_text(models) -> None:  # type: ignore[no-untyped-def]
    theirs, ours, _ = models
    harness.compare_padded_text(
        theirs, ours, harness.feature_batch(5, harness.CLASSIC_STEPS, seed=2, full=())
    )
