"""MLF-DNN and MTFN against MMSA 2.2.1's modules and their multi-task loss (see harness.compare_multitask).

Built from MMSA's CH-SIMS config (its multi-task models are SIMS models), sizes shrunk, dropout 0; the
batch carries unimodal labels. MMSA's averaging over padding and padding-reading text LSTM are corrected as
for LF-DNN and TFN (``test_lf_dnn.py``, ``test_tfn.py``); the batch's text is unpadded. MTFN's module also
holds an output range and shift that it never uses.
"""

from __future__ import annotations

import pytest

from mifusion.config import ModelConfig, PenaltyConfig, SequenceEncoderConfig
from mifusion.models.build import build_model

from . import harness, multitask_harness

TEXT_HIDDEN, UNIMODAL, POST = 8, 3, 6
HEADS = {"post_text_dim": 4, "post_audio_dim": 3, "post_video_dim": 5}


UNUSED = {"mlf_dnn": (), "mtfn": ("Model.output_range", "Model.output_shift")}


@pytest.fixture(params=sorted(UNUSED))
def models(request):  # type: ignore[no-untyped-def]
    name = request.param
    harness.require_mmsa()
    theirs = multitask_harness.mmsa_multitask(
        name, hidden_dims=[TEXT_HIDDEN, UNIMODAL, UNIMODAL], text_out=UNIMODAL, post_fusion_dim=POST,
        dropouts=[0.0] * 3, post_dropouts=[0.0] * 4, **HEADS,
    )  # fmt: skip
    w = multitask_harness.mmsa_weights(theirs)
    options = {
        "unimodal_dim": UNIMODAL, "post_text_dim": 4, "post_audio_dim": 3, "post_vision_dim": 5,
        "text_weight": w["T"] / w["M"], "audio_weight": w["A"] / w["M"], "vision_weight": w["V"] / w["M"],
    }  # fmt: skip
    cfg = ModelConfig(
        name=name, sequence=SequenceEncoderConfig(hidden_dim=TEXT_HIDDEN), hidden_dim=POST, dropout=0.0,
        options=options,
    )  # fmt: skip
    batch = harness.feature_batch(6, harness.CLASSIC_STEPS)
    ours = build_model(cfg, PenaltyConfig(), harness.feature_spec(batch)).double()
    rules = harness.classic_rules(post_fusion=True) + multitask_harness.multitask_rules()
    return theirs, ours, harness.copy_weights(theirs, ours, harness.prefix_rule(rules), UNUSED[name])


def test_outputs_losses_and_gradients_equal_mmsa(models) -> None:  # type: ignore[no-untyped-def]
    theirs, ours, mapping = models
    batch = multitask_harness.with_unimodal_labels(
        harness.feature_batch(6, harness.CLASSIC_STEPS, seed=1), seed=1
    )
    multitask_harness.compare_multitask(theirs, ours, mapping, batch)
