"""LF-DNN (``parity: mmsa``) against MMSA 2.2.1's LF_DNN module (see harness.py and test_tfn.py)."""

from __future__ import annotations

import pytest

from mifusion.config import ModelConfig, PenaltyConfig, SequenceEncoderConfig
from mifusion.models.build import build_model

from . import harness

TEXT_HIDDEN, UNIMODAL, POST_FUSION = 8, 3, 6


@pytest.fixture
def models():  # type: ignore[no-untyped-def]
    harness.require_mmsa()
    theirs = harness.mmsa_model(
        "lf_dnn", [harness.DIMS[m] for m in ("text", "audio", "vision")],
        hidden_dims=[TEXT_HIDDEN, UNIMODAL, UNIMODAL], text_out=UNIMODAL, post_fusion_dim=POST_FUSION,
        dropouts=[0.0, 0.0, 0.0, 0.0],
    )  # fmt: skip
    cfg = ModelConfig(
        name="lf_dnn", sequence=SequenceEncoderConfig(hidden_dim=TEXT_HIDDEN), hidden_dim=POST_FUSION,
        dropout=0.0, options={"unimodal_dim": UNIMODAL, "parity": "mmsa"},
    )  # fmt: skip
    batch = harness.feature_batch(6, harness.CLASSIC_STEPS)
    ours = build_model(cfg, PenaltyConfig(), harness.feature_spec(batch)).double()
    mapping = harness.copy_weights(theirs, ours, harness.prefix_rule(harness.classic_rules(post_fusion=True)))
    return theirs, ours, mapping


def test_outputs_and_gradients_equal_mmsa(models) -> None:  # type: ignore[no-untyped-def]
    theirs, ours, mapping = models
    batch = harness.feature_batch(6, harness.CLASSIC_STEPS, seed=1)
    harness.compare_classic(theirs, ours, mapping, batch, fused=True)


def test_padded_text(models) -> None:  # type: ignore[no-untyped-def]
    theirs, ours, _ = models
    harness.compare_padded_text(
        theirs, ours, harness.feature_batch(5, harness.CLASSIC_STEPS, seed=2, full=())
    )
