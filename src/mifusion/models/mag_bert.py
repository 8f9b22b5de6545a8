"""MAG-BERT: a Multimodal Adaptation Gate inside BERT (Rahman et al., ACL 2020; REFERENCE 1.3).

After the first ``injection_layer`` transformer layers each token's state z is shifted by
``H = sum_m ReLU(W_gm [z; x_m]) * (W_m x_m)`` over the available nonverbal modalities, scaled by
``alpha = min(beta ||z|| / ||H||, 1)``, layer-normalised; the rest of the encoder runs unchanged. Needs
token text and (with audio/vision) word-aligned data: frame i is matched with token i (MMSA's aligned
features include the [CLS]/[SEP] slots); missing frames give no shift.

Penalty tap: MAG-BERT fuses inside the text encoder, so ``unimodal`` holds the gate's inputs pooled over
valid tokens: text = the token states entering the gate, audio/vision = their projections ``W_m x_m``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mifusion.config import ModelConfig
from mifusion.data.batch import MultimodalBatch
from mifusion.data.spec import DataSpec
from mifusion.encoders.build import build_text_encoder
from mifusion.encoders.pooling import masked_mean
from mifusion.encoders.text import TextEncoder
from mifusion.errors import ConfigError
from mifusion.models.base import MODELS, FusionModel, ModelEntry, ModelOutput
from mifusion.models.common import mlp, zero_absent

NONVERBAL = ("audio", "vision")


@dataclass(frozen=True)
class MAGBERTOptions:
    """MAG-BERT options: layers before the gate, shift scale beta.

    ``parity: mmsa`` builds MMSA 2.2.1's BERT_MAG instead (``mmsa_mag_bert.py``: the gate after the
    embeddings, MMSA's gate and pooler head; injection_layer is unused).
    """

    injection_layer: int = 1
    beta_shift: float = 1.0
    parity: Literal["none", "mmsa"] = "none"


class AdaptationGate(nn.Module):
    """The Multimodal Adaptation Gate on token states z (B, L, H) and aligned frames x_m (B, L, D_m)."""

    def __init__(self, hidden: int, dims: dict[str, int], beta_shift: float, dropout: float) -> None:
        super().__init__()
        self.gates = nn.ModuleDict({m: nn.Linear(hidden + d, hidden) for m, d in dims.items()})
        self.shifts = nn.ModuleDict({m: nn.Linear(d, hidden) for m, d in dims.items()})
        self.beta_shift = beta_shift
        self.norm = nn.LayerNorm(hidden)
        self.dropout = nn.Dropout(dropout)

    def forward(
        self, z: Tensor, frames: dict[str, tuple[Tensor, Tensor]]
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """z (B, L, H), frames m -> ((B, L, D_m), mask (B, L)) -> shifted z, projections m -> (B, L, H)."""
        shift = torch.zeros_like(z)
        projections = {}
        for m, (x, mask) in frames.items():
            keep = mask.unsqueeze(-1).to(z.dtype)
            projections[m] = self.shifts[m](x) * keep  # (B, L, H)
            gate = F.relu(self.gates[m](torch.cat([z, x], dim=-1)))
            shift = shift + gate * projections[m]
        z_norm = torch.sqrt((z * z).sum(-1, keepdim=True) + 1e-8)
        h_norm = torch.sqrt((shift * shift).sum(-1, keepdim=True) + 1e-8)
        alpha = torch.clamp(self.beta_shift * z_norm / h_norm, max=1.0)
        return self.dropout(self.norm(z + alpha * shift)), projections


class MAGBERT(FusionModel):
    """MAG-BERT on a transformers encoder with a ``encoder.layer`` list (BERT, RoBERTa, MiniLM).

    Example:
        >>> from mifusion.models.testing import tiny_spec, tiny_batch
        >>> from mifusion.config import TextEncoderConfig
        >>> spec = tiny_spec(aligned=True)
        >>> cfg = ModelConfig(name="mag_bert", text=TextEncoderConfig(hidden_size=8, intermediate_size=16))
        >>> model = build_mag_bert(cfg, spec, MAGBERTOptions())
        >>> sorted(model(tiny_batch(spec, 2)).unimodal)
        ['audio', 'text', 'vision']
    """

    def __init__(
        self, text: TextEncoder, spec: DataSpec, options: MAGBERTOptions, hidden_dim: int, dropout: float
    ) -> None:
        super().__init__()
        self.modalities = spec.modalities
        self.text_encoder = text
        model: Any = text.model
        layers: Any = model.encoder.layer
        index = min(max(options.injection_layer, 1), len(layers)) - 1
        dims = {m: spec.feature_dims[m] for m in NONVERBAL if m in spec.modalities}
        self.gate = AdaptationGate(text.output_dim, dims, options.beta_shift, dropout)
        self._context: dict[str, Any] = {}
        layers[index].register_forward_hook(self._inject)
        self.head = mlp([text.output_dim, hidden_dim, 1], dropout)
        self.unimodal_dims = dict.fromkeys(self.modalities, text.output_dim)
        self.fused_dim = text.output_dim

    def _inject(self, module: nn.Module, args: Any, output: Any) -> Any:
        """Forward hook on the chosen layer: replaces its hidden states by the gated ones."""
        if "frames" not in self._context:
            return output
        hidden = output[0] if isinstance(output, tuple) else output
        self._context["gate_text"] = hidden
        self._context["projections"] = {}
        if not self._context["frames"]:
            return output
        shifted, projections = self.gate(hidden, self._context["frames"])
        self._context["projections"] = projections
        return (shifted, *output[1:]) if isinstance(output, tuple) else shifted

    def _frames(self, batch: MultimodalBatch, tokens: int) -> dict[str, tuple[Tensor, Tensor]]:
        """Nonverbal frames cut or zero-padded to the token length: m -> ((B, L, D_m), (B, L))."""
        out = {}
        for m in self.gate.gates:
            x = batch.sequences[m][:, :tokens]
            mask = (batch.masks[m] & batch.present[m].unsqueeze(-1))[:, :tokens]
            pad = tokens - x.shape[1]
            out[m] = (F.pad(x * mask.unsqueeze(-1).to(x.dtype), (0, 0, 0, pad)), F.pad(mask, (0, pad)))
        return out

    def forward(self, batch: MultimodalBatch) -> ModelOutput:
        """Batch -> prediction (B,), unimodal (gate inputs, pooled), fused (B, H) final [CLS]/mean."""
        if batch.token_ids is None or batch.token_mask is None:
            raise ConfigError("MAG-BERT needs token text but the batch has none")
        token_mask = batch.token_mask & batch.present["text"].unsqueeze(-1)
        self._context = {"frames": self._frames(batch, batch.token_ids.shape[1])}
        try:
            encoded = self.text_encoder(batch.token_ids, token_mask) if self.text_encoder else None
            context = self._context
        finally:
            self._context = {}
        assert encoded is not None
        unimodal = {"text": zero_absent(batch, "text", masked_mean(context["gate_text"], token_mask))}
        for m, projection in context["projections"].items():
            unimodal[m] = zero_absent(batch, m, masked_mean(projection, context["frames"][m][1]))
        fused = encoded.pooled
        return ModelOutput(self.head(fused).squeeze(-1), unimodal, fused)


def build_mag_bert(cfg: ModelConfig, spec: DataSpec, options: MAGBERTOptions) -> FusionModel:
    """Builds MAG-BERT; needs token text (a transformers encoder)."""
    if "text" not in spec.modalities or spec.text_kind != "tokens":
        raise ConfigError(
            "model mag_bert needs token text (a transformers encoder inside which the gate sits); "
            "add text to data.modalities or choose another model"
        )
    if options.parity == "mmsa":
        from mifusion.models.mmsa_mag_bert import MMSAMAGBERT

        return MMSAMAGBERT(build_text_encoder(cfg.text, spec), spec, options.beta_shift, cfg.dropout)
    return MAGBERT(build_text_encoder(cfg.text, spec), spec, options, cfg.hidden_dim, cfg.dropout)


MODELS.add(
    "mag_bert",
    ModelEntry(
        build_mag_bert,
        MAGBERTOptions,
        requires=frozenset({"text"}),
        needs_aligned=True,
        summary="MAG-BERT: multimodal adaptation gate inside BERT (Rahman 2020; needs text, aligned)",
    ),
)
