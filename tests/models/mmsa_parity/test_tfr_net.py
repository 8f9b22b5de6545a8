"""TFR-Net against MMSA 2.2.1's TFR_NET module and its trainer's loss (see harness.py).

MMSA's TFR_NET builds its BERT from ``bert-base-uncased``; the name ``BertTextEncoder`` in its model module
is rebound (pytest's monkeypatch, nothing edited) to one that loads a tiny local BERT. Its bug (documented
in ``mifusion.models.tfr_net``): the temporal transformers get (B, channels, time) where they expect
(tokens, batch, embed) and attend over the samples; forward hooks hand them (channels, B, time) and turn
the result back, which is what mifusion computes. The batch is unpadded (MMSA pools over padding and infers
padding from zero features; mifusion uses the masks). Every feature is projected (no width equals ``dim``)
and no three neighbouring frames are dropped, so no projected frame is zero (MMSA's padding test).

The same frames and tokens are dropped on both sides. Compared, in training mode (batch statistics): the
prediction, the C-Gate vectors, each reconstruction, the weighted reconstruction loss, MMSA's total loss
(L1 + reconstruction: its trainer from the second epoch) and every gradient; then the prediction in eval.
"""

from __future__ import annotations

import importlib
from typing import Any

import pytest
import torch
from torch import Tensor

from mifusion.config import ModelConfig, PenaltyConfig, TextEncoderConfig
from mifusion.data.batch import MultimodalBatch
from mifusion.data.spec import DataSpec
from mifusion.models.build import build_model
from mifusion.models.testing import save_tiny_bert

from . import harness, token_harness

BERT_DIM, DIM, HEADS = 8, 6, 2
LENGTHS = {"text": 6, "audio": 4, "vision": 4}
HIDDEN = {"text": 4, "audio": 3, "vision": 5}
WEIGHTS = {"text": 5.0, "audio": 2.0, "vision": 20.0}
KERNELS = {"text": 1, "audio": 3, "vision": 3}
SIM, UNK = 5.0, 1
SHORT = {"text": "l", "audio": "a", "vision": "v"}
GENERATOR = {"text": "t", "audio": "a", "vision": "v"}
DROPOUTS = (
    "text_dropout", "attn_dropout", "attn_dropout_a", "attn_dropout_v", "relu_dropout", "embed_dropout",
    "res_dropout", "fusion_drop", "cls_dropout",
)  # fmt: skip


def name_rule() -> Any:
    out = [("Model.text_model.model.", "text.encoders.text.model.")]
    out += [(f"Model.align_subnet.Model.proj_{k}.", f"align.project.{m}.") for m, k in SHORT.items()]
    for t, kt in SHORT.items():
        out += [(f"Model.align_subnet.Model.trans_{kt}_mem.", f"align.intra.{t}.")]
        out += [(f"Model.align_subnet.Model.trans_{kt}_final.", f"align.temporal.{t}.")]
        out += [
            (f"Model.align_subnet.Model.trans_{kt}_with_{ks}.", f"align.cross.{s}_to_{t}.")
            for s, ks in SHORT.items()
            if s != t
        ]
        out += [(f"Model.generator_{GENERATOR[t]}.Model.linear.", f"generators.{t}.")]
        out += [(f"Model.fusion_subnet.Model.{t}_encoder.gru.gru.", f"gates.{t}.gru.")]
        out += [(f"Model.fusion_subnet.Model.{t}_encoder.cnn.", f"gates.{t}.gate.")]
        out += [(f"Model.fusion_subnet.Model.{t}_encoder.fc.", f"gates.{t}.fc.")]
    out += [("Model.fusion_subnet.Model.classifier.linear_trans_norm.", "norm.")]
    out += [("Model.fusion_subnet.Model.classifier.linear_trans_hidden.", "classifier.0.")]
    out += [("Model.fusion_subnet.Model.classifier.linear_trans_final.", "classifier.3.")]
    parts = [("self_attn.", "attention."), ("layer_norms.", "norms."), ("layer_norm.", "norm.")]

    def rule(name: str) -> str | None:
        mapped = harness.prefix_rule(out)(name)
        if mapped is not None and mapped.startswith("align."):
            for theirs, ours in parts:
                mapped = mapped.replace(f".{theirs}", f".{ours}")
        return mapped

    return rule


@pytest.fixture
def models(tmp_path_factory, monkeypatch):  # type: ignore[no-untyped-def]
    harness.require_mmsa()
    bert = save_tiny_bert(tmp_path_factory.mktemp("bert"), token_harness.VOCAB, BERT_DIM)
    module = importlib.import_module("MMSA.models.missingTask.TFR_NET.model")
    original = module.BertTextEncoder
    monkeypatch.setattr(
        module, "BertTextEncoder", lambda use_finetune: original(use_finetune, pretrained=bert)
    )
    theirs = harness.mmsa_model(
        "tfr_net", [BERT_DIM, harness.DIMS["audio"], harness.DIMS["vision"]],
        seq_lens=[LENGTHS[m] for m in SHORT], dst_feature_dim_nheads=[DIM, HEADS], nlevels=1,
        num_temporal_head=2, fusion_t_hid=HIDDEN["text"], fusion_a_hid=HIDDEN["audio"],
        fusion_v_hid=HIDDEN["vision"], fusion_gru_layers=1, cls_hidden_dim=8,
        conv1d_kernel_size_l=KERNELS["text"], conv1d_kernel_size_a=KERNELS["audio"],
        conv1d_kernel_size_v=KERNELS["vision"], weight_gen_loss=[WEIGHTS[m] for m in SHORT],
        weight_sim_loss=SIM, **dict.fromkeys(DROPOUTS, 0.0),
    )  # fmt: skip
    captured: dict[str, Tensor] = {}
    inner = theirs.Model
    for m, k in SHORT.items():
        final = getattr(inner.align_subnet.Model, f"trans_{k}_final")
        final.register_forward_pre_hook(lambda _mod, args: (args[0].transpose(0, 1),))
        final.register_forward_hook(lambda _mod, _args, out: out.transpose(0, 1))
        generator = getattr(inner, f"generator_{GENERATOR[m]}")
        generator.register_forward_hook(
            lambda _mod, _args, out, m=m: captured.__setitem__(f"rebuilt {m}", out)
        )
        gate = getattr(inner.fusion_subnet.Model, f"{m}_encoder")
        gate.register_forward_hook(lambda _mod, _args, out, m=m: captured.__setitem__(f"gate {m}", out))
    options = {
        "dim": DIM, "num_heads": HEADS, "layers": 1, "temporal_heads": 2, "lengths": LENGTHS, "kernels": KERNELS,
        "fusion_hidden": HIDDEN, "gru_layers": 1, "classifier_hidden": 8, "text_dropout": 0.0,
        "unk_token_id": UNK, "reconstruction_weights": WEIGHTS, "sim_weight": SIM,
    }  # fmt: skip
    cfg = ModelConfig(name="tfr_net", text=TextEncoderConfig(pretrained=bert), dropout=0.0, options=options)
    spec = DataSpec(
        ("text", "audio", "vision"),
        {m: harness.DIMS[m] for m in ("audio", "vision")},
        "tokens",
        token_harness.VOCAB,
    )
    ours = build_model(cfg, PenaltyConfig(), spec).double()
    mapping = harness.copy_weights(theirs, ours, name_rule(), unused=("Model.text_model.model.pooler.",))
    return theirs, ours, mapping, captured


def full_batch(size: int, seed: int) -> tuple[MultimodalBatch, dict[str, Tensor]]:
    """An unpadded batch of the fixed lengths and the kept steps (no three neighbours dropped)."""
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, token_harness.VOCAB, (size, LENGTHS["text"]), generator=g)
    ids[:, 0], ids[:, -1] = 2, 3
    mask = torch.ones(size, LENGTHS["text"], dtype=torch.bool)
    batch = MultimodalBatch(
        [str(i) for i in range(size)], torch.randn(size, generator=g, dtype=torch.float64), token_ids=ids, token_mask=mask
    )  # fmt: skip
    batch.present["text"] = torch.ones(size, dtype=torch.bool)
    keep = {}
    for m, steps in LENGTHS.items():
        pattern = torch.rand(size, steps, generator=g) > 0.3
        pattern[:, ::2] = True  # at most every other step dropped
        if m == "text":
            pattern[:, -1] = True
        else:
            batch.sequences[m] = torch.randn(size, steps, harness.DIMS[m], generator=g, dtype=torch.float64)
            batch.lengths[m] = torch.full((size,), steps)
            batch.masks[m] = torch.ones(size, steps, dtype=torch.bool)
            batch.present[m] = torch.ones(size, dtype=torch.bool)
        keep[m] = pattern
    assert all(bool((~k).any()) for k in keep.values()), "every modality must drop something"
    return batch, keep


def mmsa_inputs(batch: MultimodalBatch, keep: dict[str, Tensor]) -> tuple[Any, Any, Any]:
    assert batch.token_ids is not None and batch.token_mask is not None
    mask = batch.token_mask.to(torch.float64)
    text = torch.stack([batch.token_ids.to(torch.float64), mask, torch.zeros_like(mask)], dim=1)
    dropped_ids = torch.where(keep["text"], batch.token_ids, UNK).to(torch.float64)
    text_m = torch.stack([dropped_ids, mask, torch.zeros_like(mask)], dim=1)
    out: list[Any] = [(text, text_m, keep["text"].to(torch.float64))]
    for m in ("audio", "vision"):
        x, kept = batch.sequences[m], keep[m].to(torch.float64)
        out.append((x, x * kept.unsqueeze(-1), batch.masks[m].to(torch.float64), kept))
    return out[0], out[1], out[2]


def test_outputs_losses_and_gradients_equal_mmsa(models) -> None:  # type: ignore[no-untyped-def]
    theirs, ours, mapping, captured = models
    batch, keep = full_batch(5, seed=1)
    theirs.train()
    ours.train()
    prediction, generation = theirs(*mmsa_inputs(batch, keep))
    result = ours.run(batch, keep)
    harness.close("prediction", result.prediction, prediction)
    for m in SHORT:
        harness.close(f"gate {m}", result.unimodal[m], captured[f"gate {m}"])
        harness.close(f"rebuilt {m}", result.rebuilt[m], captured[f"rebuilt {m}"])
    weighted = sum(WEIGHTS[m] * result.errors[m] for m in SHORT)
    harness.close("reconstruction", weighted, generation)
    loss_theirs = (prediction.squeeze(1) - batch.labels).abs().mean() + generation
    loss_ours = (result.prediction - batch.labels).abs().mean() + weighted
    harness.close("loss", loss_ours, loss_theirs)
    harness.compare_gradients(theirs, ours, mapping, loss_theirs, loss_ours)
    theirs.eval()
    ours.eval()
    with torch.no_grad():
        harness.close(
            "eval prediction", ours.run(batch, keep).prediction, theirs(*mmsa_inputs(batch, keep))[0]
        )


def test_forward_drops_steps_only_in_training(models) -> None:  # type: ignore[no-untyped-def]
    _, ours, _, _ = models
    batch, _ = full_batch(4, seed=2)
    ours.eval()
    out = ours(batch)
    assert all(float(t.value.detach()) == 0.0 for t in out.terms.values())
    ours.train()
    torch.manual_seed(0)
    out = ours(batch)
    assert all(float(t.value.detach()) > 0.0 for t in out.terms.values())
    ours.set_epoch(0)
    assert all(t.weight == 0.0 for t in ours(batch).terms.values())
    ours.set_epoch(1)
    assert [t.weight for t in ours(batch).terms.values()] == [WEIGHTS[m] for m in SHORT]
