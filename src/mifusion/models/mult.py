"""MulT: Multimodal Transformer (Tsai et al., ACL 2019; REFERENCE 1.3).

Each target modality's sequence attends to every other available modality's sequence through crossmodal
transformer blocks (queries from the target, keys/values from the source), the results are concatenated
and passed through a self-attention transformer; each target's last valid state (``pooling: last``, the
paper's) or the mean of its valid states (``pooling: mean``) goes to the head. Works on unaligned sequences. With one modality only the self-attention stage remains. Token text enters as the
text encoder's per-token states.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor, nn

from mifusion.config import ModelConfig
from mifusion.data.batch import MultimodalBatch
from mifusion.data.spec import DataSpec
from mifusion.encoders.pooling import last_valid, masked_mean, safe_key_padding_mask
from mifusion.encoders.sequence import sinusoidal_positions
from mifusion.fusions.crossmodal import CrossmodalTransformer
from mifusion.models.base import MODELS, FusionModel, ModelEntry, ModelOutput
from mifusion.models.common import ModalityEncoders, frame_dims, mlp, zero_absent


@dataclass(frozen=True)
class MulTOptions:
    """MulT options: model width, attention heads, crossmodal and self-attention depth.

    ``parity: mmsa`` builds MMSA 2.2.1's MULT instead (``mmsa_mult.py``: temporal convolutions of
    ``kernel_size``, future-masked scaled transformers, ``max(crossmodal_layers, 3)`` self-attention
    layers; self_layers is unused). ``pooling`` reads each target's self-attention output at its last valid
    step (``last``, as the paper) or by the masked mean of its valid steps (``mean``).
    """

    dim: int = 16
    num_heads: int = 2
    crossmodal_layers: int = 2
    self_layers: int = 1
    parity: Literal["none", "mmsa"] = "none"
    kernel_size: int = 5
    pooling: Literal["last", "mean"] = "last"


class MulT(FusionModel):
    """Multimodal Transformer.

    Example:
        >>> from mifusion.models.testing import tiny_spec, tiny_batch
        >>> model = build_mult(ModelConfig(name="mult", hidden_dim=8), tiny_spec(), MulTOptions(dim=4))
        >>> model(tiny_batch(tiny_spec(), 2)).fused.shape
        torch.Size([2, 24])
    """

    def __init__(
        self,
        spec: DataSpec,
        text: ModalityEncoders | None,
        options: MulTOptions,
        hidden_dim: int,
        dropout: float,
    ) -> None:
        super().__init__()
        self.modalities = spec.modalities
        self.text = text
        self.text_encoder = text.text_encoder if text is not None else None
        dims = frame_dims(spec, text)
        d = options.dim
        self.dim = d
        self.pooling = options.pooling
        self.project = nn.ModuleDict({m: nn.Linear(dims[m], d) for m in self.modalities})
        self.crossmodal = nn.ModuleDict(
            {
                f"{s}_to_{t}": CrossmodalTransformer(d, options.num_heads, options.crossmodal_layers, dropout)
                for t in self.modalities
                for s in self.modalities
                if s != t
            }
        )
        width = d * max(len(self.modalities) - 1, 1)
        self.width = width
        self.self_attention = nn.ModuleDict()
        for t in self.modalities:
            layer = nn.TransformerEncoderLayer(width, options.num_heads, 2 * width, dropout, batch_first=True)
            self.self_attention[t] = nn.TransformerEncoder(
                layer, options.self_layers, enable_nested_tensor=False
            )
        self.head = mlp([width * len(self.modalities), hidden_dim, 1], dropout)
        self.unimodal_dims = dict.fromkeys(self.modalities, width)
        self.fused_dim = width * len(self.modalities)

    def _sequences(self, batch: MultimodalBatch) -> dict[str, tuple[Tensor, Tensor]]:
        """modality -> (projected sequence (B, T, d), mask (B, T))."""
        out = {}
        for m in self.modalities:
            if m == "text" and self.text is not None:
                encoded = self.text.encode(batch, "text")
                x, mask = encoded.states, encoded.mask
            else:
                x, mask = batch.sequences[m], batch.masks[m] & batch.present[m].unsqueeze(-1)
            h = self.project[m](x) + sinusoidal_positions(x.shape[1], self.dim, x.device)
            out[m] = (h * mask.unsqueeze(-1).to(h.dtype), mask)
        return out

    def forward(self, batch: MultimodalBatch) -> ModelOutput:
        """Batch -> prediction (B,), unimodal (B, d*(M-1)) per target modality, fused (B, M*d*(M-1))."""
        sequences = self._sequences(batch)
        unimodal = {}
        for t in self.modalities:
            target, target_mask = sequences[t]
            sources = [
                self.crossmodal[f"{s}_to_{t}"](target, *sequences[s]) for s in self.modalities if s != t
            ]
            h = torch.cat(sources, dim=-1) if sources else target  # (B, T_t, width)
            h = self.self_attention[t](h, src_key_padding_mask=safe_key_padding_mask(target_mask))
            pooled = (
                masked_mean(h, target_mask)
                if self.pooling == "mean"
                else last_valid(h, target_mask.sum(dim=1))
            )
            unimodal[t] = zero_absent(batch, t, pooled)
        fused = torch.cat([unimodal[m] for m in self.modalities], dim=-1)
        return ModelOutput(self.head(fused).squeeze(-1), unimodal, fused)


def build_mult(cfg: ModelConfig, spec: DataSpec, options: MulTOptions) -> FusionModel:
    """Builds MulT on the spec's modalities."""
    if options.parity == "mmsa":
        from mifusion.models.mmsa_mult import build_mmsa_mult

        o = options
        return build_mmsa_mult(spec, o.dim, o.num_heads, o.crossmodal_layers, o.kernel_size, cfg.dropout)
    text = ModalityEncoders(spec, cfg, ("text",)) if spec.text_kind == "tokens" else None
    return MulT(spec, text, options, cfg.hidden_dim, cfg.dropout)


MODELS.add("mult", ModelEntry(build_mult, MulTOptions, summary="MulT: crossmodal transformers (Tsai 2019)"))
