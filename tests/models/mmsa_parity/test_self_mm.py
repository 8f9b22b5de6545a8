"""Self-MM against MMSA 2.2.1's SELF_MM module and its trainer's label generation and loss.

MMSA's side: the module (its MOSI config, a tiny BERT, sizes shrunk, dropout 0) and its trainer object,
whose own ``init_labels``, ``weighted_loss``, ``update_labels``, ``update_features`` and ``update_centers``
run in the order of its ``do_train``. mifusion's side: the model with the same weights, its ULGM updating
inside training forwards. Two epochs of two batches, no optimiser step (the weights stay equal): per batch
the prediction, the fused and unimodal features, each unimodal loss, the total loss, the generated labels
after the update and (first batch) every gradient. MMSA initialises every label before training and averages
not-yet-seen zero rows into its first-epoch centres; labels move only from the second epoch, when both
memories hold every sample (``mifusion.models.self_mm_labels``), so the two agree.
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

HIDDEN, TOKENS, SAMPLES = 16, 7, 8
STEPS = {"audio": 9, "vision": 8}
SIZES = {
    "audio_hidden": 3, "audio_out": 4, "vision_hidden": 5, "vision_out": 3, "fusion_dim": 6, "text_dim": 4,
    "audio_dim": 3, "vision_dim": 5,
}  # fmt: skip
MMSA_SIZES = {
    "a_lstm_hidden_size": 3, "audio_out": 4, "v_lstm_hidden_size": 5, "video_out": 3, "post_fusion_dim": 6,
    "post_text_dim": 4, "post_audio_dim": 3, "post_video_dim": 5, "text_out": HIDDEN,
}  # fmt: skip
DROPOUTS = ("a_lstm_dropout", "v_lstm_dropout", "post_fusion_dropout", "post_text_dropout", "post_audio_dropout",
            "post_video_dropout")  # fmt: skip
MODES = {"text": "text", "audio": "audio", "vision": "vision"}


def rules() -> list[tuple[str, str]]:
    out = [("Model.text_model.model.", "encoders.text.encoders.text.model.")]
    for mmsa, ours in (("audio", "audio"), ("video", "vision")):
        out += [
            (
                f"Model.{mmsa}_model.rnn.{k}_l0",
                f"encoders.{ours}.encoders.{ours}.core.forward_layers.0.{k}_l0",
            )
            for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
        ]
        out.append((f"Model.{mmsa}_model.linear_1.", f"encoders.{ours}.encoders.{ours}.project."))
    for mmsa, ours in (("fusion", "fusion"), ("text", "text"), ("audio", "audio"), ("video", "vision")):
        out += [
            (f"Model.post_{mmsa}_layer_1.", f"features.{ours}.1."), (f"Model.post_{mmsa}_layer_2.", f"heads.{ours}.0."),
            (f"Model.post_{mmsa}_layer_3.", f"heads.{ours}.2."),
        ]  # fmt: skip
    return out


@pytest.fixture
def models(tmp_path):  # type: ignore[no-untyped-def]
    harness.require_mmsa()
    bert = save_tiny_bert(tmp_path / "bert", token_harness.VOCAB, HIDDEN)
    dims = [HIDDEN, harness.DIMS["audio"], harness.DIMS["vision"]]
    theirs = harness.mmsa_model(
        "self_mm", dims, pretrained=bert, train_samples=SAMPLES, **MMSA_SIZES, **dict.fromkeys(DROPOUTS, 0.0)
    )
    data = token_harness.token_batch(SAMPLES, TOKENS, STEPS, seed=4, tied=False)
    cfg = ModelConfig(name="self_mm", text=TextEncoderConfig(pretrained=bert), dropout=0.0, options=SIZES)
    ours = build_model(cfg, PenaltyConfig(), token_harness.token_spec(data)).double()
    mapping = harness.copy_weights(
        theirs, ours, harness.prefix_rule(rules()), unused=("Model.text_model.model.pooler.",)
    )
    return theirs, ours, mapping, data


def mmsa_trainer(bert: str) -> object:
    from MMSA.config import get_config_regression  # type: ignore[import-not-found]
    from MMSA.trains import ATIO  # type: ignore[import-not-found]

    importlib.import_module("MMSA.trains.multiTask.SELF_MM")
    args = get_config_regression("self_mm", "mosi")
    args.update(
        device=torch.device("cpu"),
        train_mode="regression",
        train_samples=SAMPLES,
        pretrained=bert,
        **MMSA_SIZES,
    )
    with harness.float64_by_default():
        return ATIO().getTrain(args)


def test_two_epochs_of_label_generation_equal_mmsa(models, tmp_path) -> None:  # type: ignore[no-untyped-def]
    theirs, ours, mapping, data = models
    trainer = mmsa_trainer(str(tmp_path / "bert"))
    assert (data.labels > 0).any() and (data.labels < 0).any()
    batches = [list(range(0, SAMPLES // 2)), list(range(SAMPLES // 2, SAMPLES))]
    trainer.init_labels(torch.arange(SAMPLES), data.labels)  # type: ignore[attr-defined]
    theirs.train()
    ours.train()
    for epoch in (1, 2):
        ours.set_epoch(epoch - 1)
        for number, rows in enumerate(batches):
            batch = harness.rows_of(data, rows)
            index = torch.as_tensor(rows)
            where = f"epoch {epoch} batch {number}"
            out_theirs = theirs(
                token_harness.mmsa_text(batch), (batch.sequences["audio"], batch.lengths["audio"]),
                (batch.sequences["vision"], batch.lengths["vision"]),
            )  # fmt: skip
            losses = {
                key: trainer.weighted_loss(out_theirs[short], trainer.label_map[mode][index], index, mode)  # type: ignore[attr-defined]
                for key, short, mode in (("M", "M", "fusion"), ("text", "T", "text"), ("audio", "A", "audio"), ("vision", "V", "vision"))
            }  # fmt: skip
            out = ours(batch)
            harness.close(f"{where} prediction", out.prediction, out_theirs["M"])
            harness.close(f"{where} fused", out.fused, out_theirs["Feature_f"])  # type: ignore[arg-type]
            for m, short in (("text", "t"), ("audio", "a"), ("vision", "v")):
                harness.close(f"{where} unimodal {m}", out.unimodal[m], out_theirs[f"Feature_{short}"])
                harness.close(f"{where} {m} loss", out.terms[f"{m}_task"].value, losses[m])
            loss_theirs = sum(losses.values())
            loss_ours = (out.prediction - batch.labels).abs().mean() + sum(
                t.value for t in out.terms.values()
            )
            harness.close(f"{where} loss", loss_ours, loss_theirs)
            if epoch == 1 and number == 0:
                harness.compare_gradients(theirs, ours, mapping, loss_theirs, loss_ours)
            features = [out_theirs[f"Feature_{k}"].detach() for k in ("f", "t", "a", "v")]
            if epoch > 1:
                trainer.update_labels(*features, epoch, index, out_theirs)  # type: ignore[attr-defined]
            trainer.update_features(*features, index)  # type: ignore[attr-defined]
            trainer.update_centers()  # type: ignore[attr-defined]
            ours_rows = ours.memory.rows(batch.ids, batch.labels)
            for m in ("text", "audio", "vision"):
                harness.close(
                    f"{where} {m} labels", ours.memory.labels[m][ours_rows], trainer.label_map[m][index]
                )  # type: ignore[attr-defined]
    moved = ours.memory.labels["text"] - ours.memory.labels["fusion"]
    assert moved.abs().max() > 1e-3, "the second epoch generated labels that differ from the multimodal ones"


def test_only_training_samples_enter_the_label_memory() -> None:
    """Evaluation forwards look labels up and store nothing (their zero features would skew the centres)."""
    from mifusion.models.testing import tiny_batch, tiny_model_config, tiny_spec

    spec = tiny_spec()
    model = build_model(tiny_model_config("self_mm"), PenaltyConfig(), spec)
    train, valid = tiny_batch(spec, 4, seed=0), tiny_batch(spec, 3, seed=1)
    valid.ids = [f"valid{i}" for i in range(3)]
    model.train()
    model(train)
    model.eval()
    out = model(valid)
    assert len(model.memory.index) == 4 and set(model.memory.index) == set(train.ids)
    assert all(torch.isfinite(t.value) for t in out.terms.values())
