"""MAG-BERT as MMSA 2.2.1 builds it (``model.options.parity: mmsa`` of ``mag_bert``; Rahman et al. 2020).

Where MMSA's BERT_MAG differs from mifusion's default MAG-BERT (``mag_bert.py``):

- the gate shifts the *embedding* output (before the first transformer layer), not a layer's output;
- each gate reads ``[x_m; z]`` (frames first), and the shift scale is
  ``alpha = min(beta ||z|| / (||H|| + 1e-6), 1)`` with ``||H||`` replaced by 1 where it is 0;
- the head is BERT's pooler (Linear and tanh on the first token), dropout and one Linear layer.

Frames at padding tokens are zeroed here (MMSA shifts padding tokens too); padding tokens are masked out of
attention and of the pooler, so the prediction is the same. Needs token text (a BERT-like encoder with an
``embeddings`` submodule, whose output the gate replaces) and, with audio or vision, aligned data.

Penalty taps as in ``mag_bert.py``: text = the embeddings entering the gate, audio/vision = ``W_m x_m``,
each averaged over valid tokens; fused = the pooler's output.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mifusion.data.batch import MultimodalBatch
from mifusion.data.spec import DataSpec
from mifusion.encoders.pooling import masked_mean
from mifusion.encoders.text import TextEncoder
from mifusion.errors import ConfigError
from mifusion.models.base import FusionModel, ModelOutput
from mifusion.models.common import zero_absent

NONVERBAL = ("audio", "vision")
EPS = 1e-6


class MMSAAdaptationGate(nn.Module):
    """MMSA's MAG: ``LayerNorm(z + alpha * sum_m ReLU(W_hm [x_m; z]) * W_m x_m)`` then dropout."""

    def __init__(self, hidden: int, dims: dict[str, int], beta_shift: float, dropout: float) -> None:
        super().__init__()
        self.gates = nn.ModuleDict({m: nn.Linear(d + hidden, hidden) for m, d in dims.items()})
        self.shifts = nn.ModuleDict({m: nn.Linear(d, hidden) for m, d in dims.items()})
        self.beta_shift = beta_shift
        self.norm = nn.LayerNorm(hidden)
        self.dropout = nn.Dropout(dropout)

    def forward(self, z: Tensor, frames: dict[str, Tensor]) -> tuple[Tensor, dict[str, Tensor]]:
        """z (B, L, H), frames m -> (B, L, D_m) -> gated z (B, L, H), projections m -> (B, L, H)."""
        shift = torch.zeros_like(z)
        projections = {}
        for m, x in frames.items():
            projections[m] = self.shifts[m](x)
            shift = shift + F.relu(self.gates[m](torch.cat([x, z], dim=-1))) * projections[m]
        z_norm, h_norm = z.norm(2, dim=-1), shift.norm(2, dim=-1)  # (B, L)
        h_norm = torch.where(h_norm == 0, torch.ones_like(h_norm), h_norm)
        alpha = torch.clamp(z_norm / (h_norm + EPS) * self.beta_shift, max=1.0).unsqueeze(-1)
        return self.dropout(self.norm(alpha * shift + z)), projections


class MMSAMAGBERT(FusionModel):
    """MAG-BERT with MMSA 2.2.1's gate position, gate and head (see the module docstring)."""

    def __init__(self, text: TextEncoder, spec: DataSpec, beta_shift: float, dropout: float) -> None:
        super().__init__()
        self.modalities = spec.modalities
        self.text_encoder = text
        hidden = text.output_dim
        dims = {m: spec.feature_dims[m] for m in NONVERBAL if m in spec.modalities}
        self.gate = (
            MMSAAdaptationGate(hidden, dims, beta_shift, dropout) if dims else None
        )  # text only: no gate
        self.pooler = nn.Sequential(nn.Linear(hidden, hidden), nn.Tanh())
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(hidden, 1))
        self.unimodal_dims = dict.fromkeys(self.modalities, hidden)
        self.fused_dim = hidden

    def forward(self, batch: MultimodalBatch) -> ModelOutput:
        """Batch -> prediction (B,), unimodal (B, H) gate inputs, fused (B, H) pooler output."""
        if batch.token_ids is None or batch.token_mask is None:
            raise ConfigError("MAG-BERT needs token text but the batch has none")
        assert self.text_encoder is not None
        bert: Any = self.text_encoder.model
        mask = batch.token_mask & batch.present["text"].unsqueeze(-1)  # (B, L)
        tokens = batch.token_ids.shape[1]
        frames, frame_masks = {}, {}
        for m in self.gate.gates if self.gate is not None else ():
            x = batch.sequences[m][:, :tokens]
            valid = (batch.masks[m] & batch.present[m].unsqueeze(-1))[:, :tokens]
            pad = tokens - x.shape[1]
            frames[m] = F.pad(x * valid.unsqueeze(-1).to(x.dtype), (0, 0, 0, pad))
            frame_masks[m] = F.pad(valid, (0, pad))
        seen: dict[str, Any] = {}

        def gate_embeddings(module: nn.Module, args: Any, output: Tensor) -> Tensor:
            """Forward hook on the embeddings: their output (B, L, H) replaced by the gated one."""
            seen["embedded"] = output
            if self.gate is None:
                seen["projections"] = {}
                return output
            gated, seen["projections"] = self.gate(output, {m: x.to(output.dtype) for m, x in frames.items()})
            return gated

        handle = bert.embeddings.register_forward_hook(gate_embeddings)
        try:
            states = self.text_encoder(batch.token_ids, mask).states  # (B, L, H)
        finally:
            handle.remove()
        embedded, projections = seen["embedded"], seen["projections"]
        fused = self.pooler(states[:, 0])  # (B, H) tanh(W h_[CLS])
        prediction = self.head(fused).squeeze(-1)
        unimodal = {"text": zero_absent(batch, "text", masked_mean(embedded, mask))}
        for m, projection in projections.items():
            unimodal[m] = zero_absent(batch, m, masked_mean(projection, frame_masks[m] & mask))
        return ModelOutput(prediction, unimodal, fused)
