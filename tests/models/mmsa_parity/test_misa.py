"""MISA (``parity: mmsa``) against MMSA 2.2.1's MISA module and trainer losses (see harness.py).

Compared: the prediction, the projected utterances, every loss term (MMSA's own ``get_diff_loss``,
``get_cmd_loss`` and ``get_recon_loss``), the total loss and every gradient. Both sides run in eval mode:
MMSA's fusion transformer keeps torch's fixed dropout of 0.1, which the two sides cannot share.

MMSA's text projection reads 768 inputs whatever the encoder's width, so the tiny BERT here is 768 wide
(one layer). MMSA packs audio and vision with the *text* lengths (a bug): the main comparison ties every
length to the text's; ``test_own_lengths`` checks the corrected encoder against MMSA's ``extract_features``
called with each modality's own lengths.
"""

from __future__ import annotations

import importlib

import pytest
import torch

from mifusion.config import ModelConfig, PenaltyConfig, TextEncoderConfig
from mifusion.models.build import build_model
from mifusion.models.testing import save_tiny_bert

from . import harness, token_harness

pytest.importorskip("transformers")

DIM, TOKENS, STEPS = 4, 8, {"audio": 8, "vision": 8}
WEIGHTS = {"similarity_weight": 0.3, "difference_weight": 0.1, "reconstruction_weight": 1.0}
UNUSED = ("Model.bertmodel.model.pooler.", "Model.sp_discriminator.", "Model.tlayer_norm.")
"""BERT's pooler, the shared/private discriminator (no loss in MMSA 2.2.1) and the text LayerNorm: unused."""


def rules() -> list[tuple[str, str]]:
    out = token_harness.bert_rules("Model.bertmodel.", "text.encoders.text.")
    for short, m in (("v", "vision"), ("a", "audio")):
        for layer in (1, 2):
            out += token_harness.bidirectional_lstm_rules(
                f"Model.{short}rnn{layer}.", f"sequences.{m}.rnn{layer}."
            )
        out.append((f"Model.{short}layer_norm.", f"sequences.{m}.norm."))
    for short, m in (("t", "text"), ("v", "vision"), ("a", "audio")):
        out += [
            (f"Model.project_{short}.project_{short}.", f"project.{m}.0."),
            (f"Model.project_{short}.project_{short}_layer_norm.", f"project.{m}.2."),
            (f"Model.recon_{short}.recon_{short}_1.", f"reconstruct.{m}."),
        ]
    out += [
        ("Model.private_t.private_t_1.", "private.text.0."), ("Model.private_v.private_v_1.", "private.vision.0."),
        ("Model.private_a.private_a_3.", "private.audio.0."), ("Model.shared.shared_1.", "shared.0."),
        ("Model.fusion.fusion_layer_1.", "head.0."), ("Model.fusion.fusion_layer_3.", "head.3."),
        ("Model.transformer_encoder.", "fusion."),
    ]  # fmt: skip
    return out


@pytest.fixture(scope="module")
def models(tmp_path_factory):  # type: ignore[no-untyped-def]
    harness.require_mmsa()
    bert = save_tiny_bert(tmp_path_factory.mktemp("bert"), token_harness.VOCAB, 768)
    dims = [768, harness.DIMS["audio"], harness.DIMS["vision"]]
    theirs = harness.mmsa_model("misa", dims, pretrained=bert, hidden_size=DIM, dropout=0.0)
    batch = token_harness.token_batch(6, TOKENS, STEPS)
    cfg = ModelConfig(
        name="misa", text=TextEncoderConfig(pretrained=bert), dropout=0.0,
        options={"dim": DIM, "parity": "mmsa", **WEIGHTS},
    )  # fmt: skip
    ours = build_model(cfg, PenaltyConfig(), token_harness.token_spec(batch)).double()
    mapping = harness.copy_weights(theirs, ours, harness.prefix_rule(rules()), unused=UNUSED)
    from MMSA.trains import ATIO  # type: ignore[import-not-found]

    importlib.import_module("MMSA.trains.singleTask.MISA")
    args = theirs.Model.config
    trainer = ATIO().getTrain(args)
    trainer.model = theirs
    theirs.eval()
    ours.eval()
    return theirs, ours, mapping, trainer


def test_outputs_losses_and_gradients_equal_mmsa(models) -> None:  # type: ignore[no-untyped-def]
    theirs, ours, mapping, trainer = models
    batch = token_harness.token_batch(6, TOKENS, STEPS, seed=1)
    prediction = theirs(token_harness.mmsa_text(batch), batch.sequences["audio"], batch.sequences["vision"])[
        "M"
    ]
    out = ours(batch)
    harness.close("prediction", out.prediction, prediction)
    for m, short in (("text", "t"), ("audio", "a"), ("vision", "v")):
        harness.close(f"unimodal {m}", out.unimodal[m], getattr(theirs.Model, f"utt_{short}_orig"))
    terms = {
        "misa_difference": trainer.get_diff_loss(),
        "misa_similarity": trainer.get_cmd_loss(),
        "misa_reconstruction": trainer.get_recon_loss(),
    }
    for name, value in terms.items():
        harness.close(name, out.terms[name].value, value)
    args = theirs.Model.config
    loss_theirs = (
        torch.nn.functional.mse_loss(prediction.squeeze(-1), batch.labels)
        + args.diff_weight * terms["misa_difference"]
        + args.sim_weight * terms["misa_similarity"]
        + args.recon_weight * terms["misa_reconstruction"]
    )
    loss_ours = torch.nn.functional.mse_loss(out.prediction, batch.labels) + sum(
        t.weight * t.value for t in out.terms.values()
    )
    harness.close("loss", loss_ours, loss_theirs)
    harness.compare_gradients(theirs, ours, mapping, loss_theirs, loss_ours)


def test_own_lengths(models) -> None:  # type: ignore[no-untyped-def]
    theirs, ours, _, _ = models
    batch = token_harness.token_batch(5, TOKENS, STEPS, seed=2, tied=False)
    model = theirs.Model
    for m, short in (("audio", "a"), ("vision", "v")):
        lengths = batch.lengths[m]
        h1, h2 = model.extract_features(
            batch.sequences[m], lengths, getattr(model, f"{short}rnn1"), getattr(model, f"{short}rnn2"),
            getattr(model, f"{short}layer_norm"),
        )  # fmt: skip
        expected = torch.cat((h1, h2), dim=2).permute(1, 0, 2).reshape(len(lengths), -1)
        harness.close(f"{m} utterance", ours.sequences[m](batch.sequences[m], lengths), expected)
