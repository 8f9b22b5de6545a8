"""MFM against MMSA 2.2.1's MFM module and its trainer's loss (see harness.py and test_mfn.py).

The MMD terms draw Gaussian samples from torch's global generator: both sides are seeded identically and
draw in the same order (each modality's factor, then z_y). The batch is word-aligned and unpadded (MMSA
reads after the padding and includes it in the reconstruction error; ``mifusion.models.mfm`` corrects
both). MMSA's MFN encoder builds an output head that MFM never uses (``Model.mfn_encoder.out_fc*``).
Compared: the prediction, the reconstruction loss, the MMD loss, MMSA's total loss and every gradient.
"""

from __future__ import annotations

import pytest
import torch

from mifusion.config import ModelConfig, PenaltyConfig
from mifusion.models.build import build_model

from . import harness

STEPS = 4
MODALITIES = ("text", "audio", "vision")
MFN = {"text_hidden": 4, "audio_hidden": 3, "vision_hidden": 5, "memory_dim": 6, "attention_hidden": 5}
GATES = {"candidate_hidden": 5, "gamma1_hidden": 4, "gamma2_hidden": 3}
FACTORS = {"zy_dim": 5, "z_dim": 4, "fy_dim": 6, "f_dim": 3}
WEIGHTS = {
    "mmd_weight": 2.0,
    "text_reconstruction": 0.5,
    "audio_reconstruction": 0.3,
    "vision_reconstruction": 0.7,
}
SHORT = {"text": "l", "audio": "a", "vision": "v"}


def rules() -> list[tuple[str, str]]:
    out = [
        ("Model.mfn_encoder.att1_fc1.", "mfn.attention.0."), ("Model.mfn_encoder.att1_fc2.", "mfn.attention.3."),
        ("Model.mfn_encoder.att2_fc1.", "mfn.memory.candidate.0."),
        ("Model.mfn_encoder.att2_fc2.", "mfn.memory.candidate.3."),
        ("Model.last_to_zy_fc1.", "to_zy."), ("Model.zy_to_fy_fc1.", "to_fy.0."), ("Model.zy_to_fy_fc2.", "to_fy.3."),
        ("Model.fy_to_y_fc1.", "head.0."), ("Model.fy_to_y_fc2.", "head.3."),
    ]  # fmt: skip
    for gamma in ("gamma1", "gamma2"):
        out += [(f"Model.mfn_encoder.{gamma}_fc{i}.", f"mfn.memory.{gamma}.{3 * (i - 1)}.") for i in (1, 2)]
    for m, s in SHORT.items():
        out += [
            (f"Model.mfn_encoder.lstm_{s}.", f"mfn.cells.cells.{m}."), (f"Model.encoder_{s}.lstm.", f"cells.{m}."),
            (f"Model.encoder_{s}.fc1.", f"to_z.{m}."), (f"Model.decoder_{s}.lstm.", f"decoders.{m}.cell."),
            (f"Model.decoder_{s}.fc1.", f"decoders.{m}.out."), (f"Model.z{s}_to_f{s}_fc1.", f"to_f.{m}.0."),
            (f"Model.z{s}_to_f{s}_fc2.", f"to_f.{m}.3."),
        ]  # fmt: skip
    return out


@pytest.fixture
def models():  # type: ignore[no-untyped-def]
    harness.require_mmsa()
    sizes = {f"z{s}_size": FACTORS["z_dim"] for s in SHORT.values()} | {"zy_size": FACTORS["zy_dim"]}
    sizes |= {f"f{s}_size": FACTORS["f_dim"] for s in SHORT.values()} | {"fy_size": FACTORS["fy_dim"]}
    drops = {f"z{s}_to_f{s}_dropout": 0.0 for s in (*SHORT.values(), "y")} | {"fy_to_y_dropout": 0.0}
    theirs = harness.mmsa_model(
        "mfm", [harness.DIMS[m] for m in MODALITIES], seq_lens=[STEPS] * 3,
        hidden_dims=[MFN["text_hidden"], MFN["audio_hidden"], MFN["vision_hidden"]], memsize=MFN["memory_dim"],
        windowsize=2, NN1Config={"drop": 0.0, "shapes": MFN["attention_hidden"]},
        NN2Config={"drop": 0.0, "shapes": GATES["candidate_hidden"]},
        gamma1Config={"drop": 0.0, "shapes": GATES["gamma1_hidden"]},
        gamma2Config={"drop": 0.0, "shapes": GATES["gamma2_hidden"]}, outConfig={"drop": 0.0, "shapes": 3},
        lda_mmd=WEIGHTS["mmd_weight"], lda_xl=WEIGHTS["text_reconstruction"],
        lda_xa=WEIGHTS["audio_reconstruction"], lda_xv=WEIGHTS["vision_reconstruction"], **sizes, **drops,
    )  # fmt: skip
    batch = harness.feature_batch(4, dict.fromkeys(MODALITIES, STEPS), full=MODALITIES)
    cfg = ModelConfig(name="mfm", dropout=0.0, options={**MFN, **GATES, **FACTORS, **WEIGHTS})
    ours = build_model(cfg, PenaltyConfig(), harness.feature_spec(batch, aligned=True)).double()
    mapping = harness.copy_weights(
        theirs, ours, harness.prefix_rule(rules()), unused=("Model.mfn_encoder.out_fc",)
    )
    return theirs, ours, mapping


def test_outputs_losses_and_gradients_equal_mmsa(models) -> None:  # type: ignore[no-untyped-def]
    theirs, ours, mapping = models
    batch = harness.feature_batch(5, dict.fromkeys(MODALITIES, STEPS), seed=1, full=MODALITIES)
    torch.manual_seed(3)
    with harness.float64_by_default():  # MMSA's states and Gaussian draws follow the default dtype
        prediction, reconstruction, mmd, _ = theirs(*(batch.sequences[m] for m in MODALITIES))
    torch.manual_seed(3)
    out = ours(batch)
    harness.close("prediction", out.prediction, prediction)
    harness.close("reconstruction", out.terms["mfm_reconstruction"].value, reconstruction)
    harness.close("mmd", out.terms["mfm_mmd"].value, mmd)
    loss_theirs = (
        (prediction.squeeze(1) - batch.labels).abs().mean() + reconstruction + WEIGHTS["mmd_weight"] * mmd
    )
    loss_ours = (out.prediction - batch.labels).abs().mean() + sum(
        t.weight * t.value for t in out.terms.values()
    )
    harness.close("loss", loss_ours, loss_theirs)
    harness.compare_gradients(theirs, ours, mapping, loss_theirs, loss_ours)
