"""TFN (``parity: mmsa``) against MMSA 2.2.1's TFN module (see harness.py for the method).

MMSA bugs tested against their correction (documented in ``mifusion.models.mmsa_classic``): MMSA's loader
averages audio and vision over padding too (the harness feeds MMSA the valid-frame mean), and its text LSTM
reads the padding (the main comparison uses unpadded text; ``test_padded_text`` runs MMSA per sample on the
true length).
"""

from __future__ import annotations

import pytest

from mifusion.config import ModelConfig, PenaltyConfig, SequenceEncoderConfig
from mifusion.models.build import build_model

from . import harness

TEXT_HIDDEN, TENSOR_DIM, POST_FUSION = 8, 3, 6


@pytest.fixture
def models():  # type: ignore[no-untyped-def]
    harness.require_mmsa()
    theirs = harness.mmsa_model(
        "tfn", [harness.DIMS[m] for m in ("text", "audio", "vision")],
        hidden_dims=[TEXT_HIDDEN, TENSOR_DIM, TENSOR_DIM], text_out=TENSOR_DIM, post_fusion_dim=POST_FUSION,
        dropouts=[0.0, 0.0, 0.0, 0.0],
    )  # fmt: skip
    cfg = ModelConfig(
        name="tfn", sequence=SequenceEncoderConfig(hidden_dim=TEXT_HIDDEN), hidden_dim=POST_FUSION,
        dropout=0.0, options={"tensor_dim": TENSOR_DIM, "parity": "mmsa"},
    )  # fmt: skip
    batch = harness.feature_batch(6, harness.CLASSIC_STEPS)
    ours = build_model(cfg, PenaltyConfig(), harness.feature_spec(batch)).double()
    rule = harness.prefix_rule(harness.classic_rules(post_fusion=True))
    mapping = harness.copy_weights(theirs, ours, rule, unused=("Model.output_range", "Model.output_shift"))
    return theirs, ours, mapping


def test_outputs_and_gradients_equal_mmsa(models) -> None:  # type: ignore[no-untyped-def]
    theirs, ours, mapping = models
    batch = harness.feature_batch(6, harness.CLASSIC_STEPS, seed=1)
    harness.compare_classic(theirs, ours, mapping, batch, fused=True)


def test_padded_text(models) -> None:  # type: ignore[no-untyped-def]
    theirs, ours, _ = models
    batch = harness.feature_batch(5, harness.CLASSIC_STEPS, seed=2, full=())
    harness.compare_padded_text(theirs, ours, batch)


def test_output_constants_are_mmsa_label_range(models) -> None:  # type: ignore[no-untyped-def]
    theirs, ours, _ = models
    assert (float(theirs.Model.output_shift), float(theirs.Model.output_range)) == (
        ours.low,
        ours.high - ours.low,
    )
