"""MulT as MMSA 2.2.1 builds it (``model.options.parity: mmsa`` of ``mult``; Tsai et al., ACL 2019).

Where MMSA's MULT differs from mifusion's default MulT (``mult.py``):

- each modality is projected by a bias-free temporal Conv1d (``kernel_size``, no padding, so the sequence
  shortens by ``kernel_size - 1``), or not at all when its width already equals ``dim``;
- no positional encoding; inputs are scaled by sqrt(width) before every transformer;
- pre-norm layers in which one LayerNorm normalises query, key and value, and a *future mask*: position i
  attends to positions j < i + 1 + |T_source - T_target| (MMSA's ``attn_mask: true``);
- no padding masks: every padded position is attended to, and the prediction reads the *last padded
  position* of each target's self-attention output (MMSA pads every sample to a fixed length);
- the self-attention stage has ``max(crossmodal_layers, 3)`` layers of width 2 * dim; the head is a
  residual block (Linear, ReLU, dropout, Linear, plus its input) and a Linear layer.

MMSA's per-modality dropouts collapse to ``model.dropout``. Needs precomputed text features (MMSA's MOSI
MulT reads feature text). Runs on any modality subset (a single modality keeps only the self-attention).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mifusion.data.batch import MultimodalBatch
from mifusion.data.spec import DataSpec
from mifusion.errors import ConfigError
from mifusion.models.base import FusionModel, ModelOutput
from mifusion.models.common import zero_absent

MIN_SELF_LAYERS = 3
"""MMSA's MULT builds its self-attention stage with ``max(nlevels, 3)`` layers."""


def future_mask(target: int, source: int, device: torch.device) -> Tensor:
    """(T_target, T_source) bool, True where attention is blocked: j >= i + 1 + |T_source - T_target|."""
    blocked = torch.ones(target, source, dtype=torch.bool, device=device)
    return torch.triu(blocked, diagonal=1 + abs(source - target))


class ScaledPreNormLayer(nn.Module):
    """A pre-norm (cross-)attention layer with one LayerNorm for query, key and value; sequence-first."""

    def __init__(self, dim: int, num_heads: int, dropout: float) -> None:
        super().__init__()
        self.attention = nn.MultiheadAttention(dim, num_heads, dropout=dropout)
        self.fc1 = nn.Linear(dim, 4 * dim)
        self.fc2 = nn.Linear(4 * dim, dim)
        self.norms = nn.ModuleList([nn.LayerNorm(dim), nn.LayerNorm(dim)])
        self.dropout = dropout

    def forward(self, x: Tensor, source: Tensor | None) -> Tensor:
        """x (T, B, D), source (S, B, D) or None (self-attention) -> (T, B, D)."""
        query = self.norms[0](x)
        key = query if source is None else self.norms[0](source)
        mask = future_mask(query.shape[0], key.shape[0], x.device)
        attended, _ = self.attention(query, key, key, attn_mask=mask, need_weights=False)
        x = x + F.dropout(attended, self.dropout, self.training)
        h = F.dropout(F.relu(self.fc1(self.norms[1](x))), self.dropout, self.training)
        return x + F.dropout(self.fc2(h), self.dropout, self.training)


class ScaledTransformer(nn.Module):
    """Inputs scaled by sqrt(dim), embedding dropout, ``num_layers`` pre-norm layers, a final LayerNorm."""

    def __init__(self, dim: int, num_heads: int, num_layers: int, dropout: float) -> None:
        super().__init__()
        self.layers = nn.ModuleList(ScaledPreNormLayer(dim, num_heads, dropout) for _ in range(num_layers))
        self.norm = nn.LayerNorm(dim)
        self.scale, self.dropout = math.sqrt(dim), dropout

    def forward(self, x: Tensor, source: Tensor | None = None) -> Tensor:
        """x (T, B, D), optional source (S, B, D) -> (T, B, D)."""
        x = F.dropout(self.scale * x, self.dropout, self.training)
        if source is not None:
            source = F.dropout(self.scale * source, self.dropout, self.training)
        for layer in self.layers:
            x = layer(x, source)
        return self.norm(x)


class MMSAMulT(FusionModel):
    """MulT with MMSA 2.2.1's projections, transformers and head (see the module docstring)."""

    def __init__(
        self, spec: DataSpec, dim: int, num_heads: int, layers: int, kernel_size: int, dropout: float
    ) -> None:
        super().__init__()
        self.modalities = spec.modalities
        self.project = nn.ModuleDict(
            {
                m: nn.Conv1d(spec.feature_dims[m], dim, kernel_size, bias=False)
                for m in self.modalities
                if spec.feature_dims[m] != dim
            }
        )
        self.crossmodal = nn.ModuleDict(
            {
                f"{s}_to_{t}": ScaledTransformer(dim, num_heads, layers, dropout)
                for t in self.modalities
                for s in self.modalities
                if s != t
            }
        )
        width = dim * max(len(self.modalities) - 1, 1)
        self.self_attention = nn.ModuleDict(
            {
                t: ScaledTransformer(width, num_heads, max(layers, MIN_SELF_LAYERS), dropout)
                for t in self.modalities
            }
        )
        combined = width * len(self.modalities)
        self.proj1, self.proj2 = nn.Linear(combined, combined), nn.Linear(combined, combined)
        self.out = nn.Linear(combined, 1)
        self.dropout = dropout
        self.unimodal_dims = dict.fromkeys(self.modalities, width)
        self.fused_dim = combined

    def forward(self, batch: MultimodalBatch) -> ModelOutput:
        """Batch -> prediction (B,), unimodal (B, width) last self-attention states, fused (B, M*width)."""
        sequences = {}
        for m in self.modalities:
            x = batch.sequences[m].to(self.out.weight.dtype).transpose(1, 2)  # (B, D, T)
            x = self.project[m](x) if m in self.project else x
            sequences[m] = x.permute(2, 0, 1)  # (T', B, dim)
        unimodal = {}
        for t in self.modalities:
            sources = [
                self.crossmodal[f"{s}_to_{t}"](sequences[t], sequences[s]) for s in self.modalities if s != t
            ]
            h = torch.cat(sources, dim=-1) if sources else sequences[t]
            unimodal[t] = zero_absent(batch, t, self.self_attention[t](h)[-1])  # last (padded) position
        fused = torch.cat([unimodal[m] for m in self.modalities], dim=-1)
        h = self.proj2(F.dropout(F.relu(self.proj1(fused)), self.dropout, self.training)) + fused
        return ModelOutput(self.out(h).squeeze(-1), unimodal, fused)


def build_mmsa_mult(
    spec: DataSpec, dim: int, num_heads: int, layers: int, kernel_size: int, dropout: float
) -> MMSAMulT:
    """The MMSA-parity MulT; refuses token text."""
    if "text" in spec.modalities and spec.text_kind != "features":
        raise ConfigError(
            "model mult with options.parity=mmsa reads precomputed text features (as MMSA's MOSI MulT does) "
            "but the data's text is token ids; use feature text or parity: none"
        )
    return MMSAMulT(spec, dim, num_heads, layers, kernel_size, dropout)
