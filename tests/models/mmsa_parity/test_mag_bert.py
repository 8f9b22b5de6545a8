"""MAG-BERT (``parity: mmsa``) against MMSA 2.2.1's BERT_MAG module (see harness.py).

MMSA loads ``bert-base-uncased`` by that name; the test saves a tiny BERT into a folder of that name and
builds MMSA's module from inside it (transformers resolves a local folder first, so nothing downloads).
Compared: the prediction and every gradient, in training mode (dropout 0 on both sides).

MMSA 2.2.1 was written for transformers 4 and its BERT_MAG does not run under transformers 5 as it is. Three
transformers-4 behaviours are restored on MMSA's two MAG classes while the test runs (MMSA's code itself is
neither copied nor edited):

- ``__init__`` ends with ``init_weights()``, which in transformers 4 also did ``post_init()``'s bookkeeping
  (without it ``from_pretrained`` fails); it is made to call ``post_init()`` (the weights are all copied
  from mifusion's side afterwards, so their initialisation does not matter);
- ``get_extended_attention_mask``: the (B, 1, 1, L) additive mask, 0 at tokens and the dtype's minimum at
  padding;
- ``get_head_mask``: no head mask (one None per layer).
"""

from __future__ import annotations

import contextlib
import importlib
import os
from typing import Any

import pytest
import torch

from mifusion.config import ModelConfig, PenaltyConfig, TextEncoderConfig
from mifusion.models.build import build_model
from mifusion.models.testing import save_tiny_bert

from . import harness, token_harness

pytest.importorskip("transformers")

HIDDEN, TOKENS = 16, 7
MODALITIES = ("text", "audio", "vision")


def _post_init(self) -> None:  # type: ignore[no-untyped-def]
    """MMSA's ``init_weights()`` call, made into ``post_init()`` (which calls ``init_weights`` itself)."""
    from transformers import PreTrainedModel

    if self.__dict__.get("_in_post_init"):
        PreTrainedModel.init_weights(self)
        return
    self.__dict__["_in_post_init"] = True
    try:
        self.post_init()
    finally:
        del self.__dict__["_in_post_init"]


def _extended_mask(self, attention_mask: torch.Tensor, input_shape: Any, device: Any = None) -> torch.Tensor:  # type: ignore[no-untyped-def]
    """transformers 4's additive attention mask (B, 1, 1, L)."""
    dtype = next(self.parameters()).dtype
    mask = attention_mask[:, None, None, :].to(dtype)
    return (1.0 - mask) * torch.finfo(dtype).min


def _no_head_mask(self, head_mask: Any, num_hidden_layers: int) -> list[None]:  # type: ignore[no-untyped-def]
    """transformers 4's ``get_head_mask`` without a head mask."""
    return [None] * num_hidden_layers


@pytest.fixture
def models(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    harness.require_mmsa()
    BERT_MAG = importlib.import_module("MMSA.models.singleTask.BERT_MAG")

    for cls in (BERT_MAG.MAG_BertModel, BERT_MAG.MAG_BertForSequenceClassification):
        monkeypatch.setattr(cls, "init_weights", _post_init)
    monkeypatch.setattr(BERT_MAG.MAG_BertModel, "get_extended_attention_mask", _extended_mask, raising=False)
    monkeypatch.setattr(BERT_MAG.MAG_BertModel, "get_head_mask", _no_head_mask, raising=False)
    bert = save_tiny_bert(tmp_path / "bert-base-uncased", token_harness.VOCAB, HIDDEN)
    with contextlib.chdir(tmp_path):
        theirs = harness.mmsa_model(
            "bert_mag", [HIDDEN, harness.DIMS["audio"], harness.DIMS["vision"]],
            seq_lens=[TOKENS] * 3, dropout_prob=0.0, beta_shift=0.5,
        )  # fmt: skip
    assert os.path.isdir(bert)
    cfg = ModelConfig(
        name="mag_bert", text=TextEncoderConfig(pretrained=bert), dropout=0.0,
        options={"parity": "mmsa", "beta_shift": 0.5},
    )  # fmt: skip
    batch = token_harness.token_batch(4, TOKENS, dict.fromkeys(("audio", "vision"), TOKENS))
    ours = build_model(cfg, PenaltyConfig(), token_harness.token_spec(batch, aligned=True)).double()
    rules = [
        ("Model.model.bert.MAG.W_ha.", "gate.gates.audio."), ("Model.model.bert.MAG.W_hv.", "gate.gates.vision."),
        ("Model.model.bert.MAG.W_a.", "gate.shifts.audio."), ("Model.model.bert.MAG.W_v.", "gate.shifts.vision."),
        ("Model.model.bert.MAG.LayerNorm.", "gate.norm."), ("Model.model.bert.pooler.dense.", "pooler.0."),
        ("Model.model.classifier.", "head.1."), ("Model.model.bert.", "text_encoder.model."),
    ]  # fmt: skip
    mapping = harness.copy_weights(theirs, ours, harness.prefix_rule(rules))
    return theirs, ours, mapping


def test_outputs_and_gradients_equal_mmsa(models) -> None:  # type: ignore[no-untyped-def]
    theirs, ours, mapping = models
    batch = token_harness.token_batch(6, TOKENS, dict.fromkeys(("audio", "vision"), TOKENS), seed=1)
    # large frames so that the shift is clipped (alpha < 1) on some tokens and not on others
    batch.sequences["audio"] = batch.sequences["audio"] * 30.0
    prediction = theirs(token_harness.mmsa_text(batch), batch.sequences["audio"], batch.sequences["vision"])[
        "M"
    ]
    out = ours(batch)
    harness.close("prediction", out.prediction, prediction)
    loss_theirs = (prediction.squeeze(-1) - batch.labels).abs().mean()
    loss_ours = (out.prediction - batch.labels).abs().mean()
    harness.compare_gradients(theirs, ours, mapping, loss_theirs, loss_ours)
