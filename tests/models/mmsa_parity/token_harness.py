"""Parity helpers for the token-text (BERT) models: MAG-BERT, MISA, Self-MM, TFR-Net."""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor

from mifusion.data.batch import MultimodalBatch
from mifusion.data.spec import DataSpec

from .harness import DIMS

VOCAB = 40


def token_batch(
    size: int, tokens: int, steps: Mapping[str, int], seed: int = 0, tied: bool = True
) -> MultimodalBatch:
    """A float64 batch with token text (ids ``[CLS] ... [SEP]``) and audio/vision frames.

    ``tied``: every modality has the text's length (what MMSA's MISA and aligned models assume).
    """
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(3, tokens + 1, (size,), generator=g)
    lengths[0] = tokens  # one row without padding
    mask = torch.arange(tokens)[None, :] < lengths[:, None]
    ids = torch.randint(5, VOCAB, (size, tokens), generator=g)
    ids[:, 0] = 2
    ids[torch.arange(size), lengths - 1] = 3
    batch = MultimodalBatch(
        ids=[str(i) for i in range(size)],
        labels=torch.randn(size, generator=g, dtype=torch.float64),
        token_ids=ids * mask,
        token_mask=mask,
    )
    batch.present["text"] = lengths > 0
    for m, t in steps.items():
        own = lengths.clamp_max(t) if tied else torch.randint(1, t + 1, (size,), generator=g)
        frame_mask = torch.arange(t)[None, :] < own[:, None]
        x = torch.randn(size, t, DIMS[m], generator=g, dtype=torch.float64) * frame_mask.unsqueeze(-1)
        batch.sequences[m], batch.lengths[m], batch.masks[m] = x, own, frame_mask
        batch.present[m] = own > 0
    return batch


def token_spec(batch: MultimodalBatch, aligned: bool = False) -> DataSpec:
    """The DataSpec of a :func:`token_batch`."""
    modalities = ("text", *(m for m in ("audio", "vision") if m in batch.sequences))
    return DataSpec(modalities, {m: DIMS[m] for m in modalities if m != "text"}, "tokens", VOCAB, aligned)


def mmsa_text(batch: MultimodalBatch) -> Tensor:
    """MMSA's (B, 3, L) text input: token ids, attention mask, segment ids (float64)."""
    assert batch.token_ids is not None and batch.token_mask is not None
    ids = batch.token_ids.to(torch.float64)
    return torch.stack([ids, batch.token_mask.to(torch.float64), torch.zeros_like(ids)], dim=1)


def bert_rules(mmsa: str, ours: str) -> list[tuple[str, str]]:
    """A transformers BERT inside MMSA's BertTextEncoder onto mifusion's TextEncoder."""
    return [(f"{mmsa}model.", f"{ours}model.")]


def bidirectional_lstm_rules(mmsa: str, ours: str) -> list[tuple[str, str]]:
    """A one-layer bidirectional ``nn.LSTM`` onto a RecurrentEncoder's forward and backward layer 0."""
    rules = []
    for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        rules.append((f"{mmsa}{kind}_l0_reverse", f"{ours}backward_layers.0.{kind}_l0"))
        rules.append((f"{mmsa}{kind}_l0", f"{ours}forward_layers.0.{kind}_l0"))
    return rules
