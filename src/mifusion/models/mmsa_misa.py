"""MISA as MMSA 2.2.1 builds it (``model.options.parity: mmsa`` of ``misa``; Hazarika et al., ACM MM 2020).

Where MMSA's MISA differs from mifusion's default MISA (``misa.py``):

- text: the token states of the text encoder averaged over real tokens (not [CLS]);
- audio and vision: two bidirectional LSTM layers whose hidden size equals the feature size, a LayerNorm
  between them; the utterance vector is both layers' final states, ordered (layer 1 forward, layer 2
  forward, layer 1 backward, layer 2 backward);
- fusion: a sequence-first transformer layer with torch's defaults (feed-forward 2048, dropout 0.1) over the
  tokens private text/vision/audio, shared text/vision/audio; head Linear, dropout, ReLU, Linear;
- losses: the difference loss divides by *detached* row norms; CMD has no epsilon under its square roots;
  the reconstruction target (the projected utterance) is not detached.

Two MMSA behaviours are not reproduced (bugs; the differential test checks the corrected behaviour):

- MMSA packs the audio and vision sequences with the *text* lengths; here each modality uses its own.
- MMSA's text projection reads 768 inputs whatever the text encoder's width; here it reads that width.
"""

from __future__ import annotations

from dataclasses import replace
from itertools import combinations
from typing import TYPE_CHECKING

import torch
from torch import Tensor, nn

from mifusion.config import ModelConfig
from mifusion.data.batch import MultimodalBatch
from mifusion.data.spec import DataSpec
from mifusion.encoders.sequence import RecurrentEncoder
from mifusion.errors import ConfigError
from mifusion.models.base import FusionModel, ModelOutput
from mifusion.models.common import ModalityEncoders, zero_absent
from mifusion.models.misa_losses import central_moment_discrepancy, soft_orthogonality
from mifusion.objectives import WeightedTerm

if TYPE_CHECKING:
    from mifusion.models.misa import MISAOptions

MMSA_ORDER = ("text", "vision", "audio")
"""The order of MMSA's MISA fusion tokens (private then shared)."""
TORCH_FEEDFORWARD, TORCH_DROPOUT = 2048, 0.1
"""``nn.TransformerEncoderLayer`` defaults, which MMSA's MISA fusion keeps."""


class TwoLayerBiLSTM(nn.Module):
    """Two bidirectional LSTM layers (hidden = input size) with a LayerNorm between them (MMSA's MISA).

    Example:
        >>> enc = TwoLayerBiLSTM(3)
        >>> enc(torch.randn(2, 5, 3), torch.tensor([5, 2])).shape
        torch.Size([2, 12])
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim
        self.rnn1 = RecurrentEncoder(dim, dim, bidirectional=True)
        self.norm = nn.LayerNorm(2 * dim)
        self.rnn2 = RecurrentEncoder(2 * dim, dim, bidirectional=True)
        self.output_dim = 4 * dim

    def forward(self, x: Tensor, lengths: Tensor) -> Tensor:
        """(B, T, D), (B,) -> (B, 4D): final states (layer 1 fwd, layer 2 fwd, layer 1 bwd, layer 2 bwd)."""
        first = self.rnn1(x, lengths)
        second = self.rnn2(self.norm(first.states), lengths)
        d = self.dim
        p1, p2 = first.pooled, second.pooled  # (B, 2D) each: forward, backward
        return torch.cat([p1[:, :d], p2[:, :d], p1[:, d:], p2[:, d:]], dim=-1)


class MMSAMISA(FusionModel):
    """MISA with MMSA 2.2.1's architecture and losses (see the module docstring)."""

    def __init__(self, spec: DataSpec, text: ModalityEncoders | None, options: MISAOptions, dropout: float):
        super().__init__()
        self.modalities = spec.modalities
        self.options = options
        self.text = text
        self.text_encoder = text.text_encoder if text is not None else None
        self.sequences = nn.ModuleDict(
            {m: TwoLayerBiLSTM(spec.feature_dims[m]) for m in spec.modalities if m != "text"}
        )
        d = options.dim
        sizes = {m: text.output_dims["text"] if m == "text" and text else 0 for m in self.modalities}
        sizes.update({m: 4 * spec.feature_dims[m] for m in self.sequences})  # TwoLayerBiLSTM.output_dim
        self.project = nn.ModuleDict(
            {m: nn.Sequential(nn.Linear(k, d), nn.ReLU(), nn.LayerNorm(d)) for m, k in sizes.items()}
        )
        self.private = nn.ModuleDict(
            {m: nn.Sequential(nn.Linear(d, d), nn.Sigmoid()) for m in self.modalities}
        )
        self.shared = nn.Sequential(nn.Linear(d, d), nn.Sigmoid())
        self.reconstruct = nn.ModuleDict({m: nn.Linear(d, d) for m in self.modalities})
        layer = nn.TransformerEncoderLayer(d, options.num_heads, TORCH_FEEDFORWARD, TORCH_DROPOUT)
        self.fusion = nn.TransformerEncoder(layer, 1, enable_nested_tensor=False)
        tokens = 2 * len(self.modalities)
        self.head = nn.Sequential(
            nn.Linear(tokens * d, tokens * d // 2),
            nn.Dropout(dropout),
            nn.ReLU(),
            nn.Linear(tokens * d // 2, 1),
        )
        self.order = [m for m in MMSA_ORDER if m in self.modalities]
        self.unimodal_dims = dict.fromkeys(self.modalities, d)
        self.fused_dim = tokens * d

    def forward(self, batch: MultimodalBatch) -> ModelOutput:
        """Batch -> prediction (B,), unimodal (B, dim) projected utterances, fused (B, 2*M*dim), three terms."""
        utterance: dict[str, Tensor] = {}
        for m in self.modalities:
            if m == "text" and self.text is not None:
                pooled = self.text.encode(batch, "text").pooled
            else:
                x = batch.sequences[m].to(next(self.shared.parameters()).dtype)
                pooled = self.sequences[m](x, batch.lengths[m])
            utterance[m] = zero_absent(batch, m, self.project[m](pooled))
        shared = {m: self.shared(utterance[m]) for m in self.modalities}
        private = {m: self.private[m](utterance[m]) for m in self.modalities}
        zero = next(iter(utterance.values())).new_zeros(())
        pairs = list(combinations(self.order, 2))
        moments = self.options.cmd_moments
        similarity = sum(
            (central_moment_discrepancy(shared[a], shared[b], moments, eps=0.0) for a, b in pairs), zero
        ) / max(len(pairs), 1)
        difference = sum(
            (soft_orthogonality(private[m], shared[m], detach_norm=True) for m in self.order), zero
        )
        difference = difference + sum(
            (soft_orthogonality(private[a], private[b], detach_norm=True) for a, b in pairs), zero
        )
        reconstruction = sum(
            (((self.reconstruct[m](shared[m] + private[m]) - utterance[m]) ** 2).mean() for m in self.order),
            zero,
        ) / len(self.order)
        tokens = torch.stack([private[m] for m in self.order] + [shared[m] for m in self.order], dim=0)
        fused = self.fusion(tokens).transpose(0, 1).flatten(1)  # (2M, B, d) -> (B, 2M*d)
        terms = {
            "misa_similarity": WeightedTerm(similarity, self.options.similarity_weight),
            "misa_difference": WeightedTerm(difference, self.options.difference_weight),
            "misa_reconstruction": WeightedTerm(reconstruction, self.options.reconstruction_weight),
        }
        return ModelOutput(self.head(fused).squeeze(-1), dict(utterance), fused, terms)


def build_mmsa_misa(cfg: ModelConfig, spec: DataSpec, options: MISAOptions) -> MMSAMISA:
    """MMSA-parity MISA: token text (mean-pooled) or feature text is not supported for text features."""
    text = None
    if "text" in spec.modalities:
        if spec.text_kind != "tokens":
            raise ConfigError(
                "model misa with options.parity=mmsa reads token text through a transformers encoder (as MMSA "
                "does) but the data's text is precomputed features; use token text or parity: none"
            )
        text = ModalityEncoders(spec, replace(cfg, text=replace(cfg.text, pooling="mean")), ("text",))
    return MMSAMISA(spec, text, options, cfg.dropout)
