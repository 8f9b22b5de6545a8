"""CENET: Cross-modal Enhancement Network (Wang et al., IEEE TMM 2022; in MMSA after 2.2.1, not in 2.2.1).

Written from the paper and its official code's description, as facts; no parity test (MMSA 2.2.1 lacks
it). After the first ``injection_layer`` layers of the text encoder, a cross-modal enhancement (CE) module
shifts every token state z: each nonverbal modality's frames go through Linear-ReLU-Linear to the text
width, a one-head attention with the token states as queries and those frames as keys and values
(scores multiplied by ``score_scale``, 8 in the official code, instead of divided by sqrt(width)) gives a
per-token context, and a Linear on the concatenated contexts is added to z. The remaining layers run
unchanged; the head reads the final [CLS] state (dropout, Linear, tanh, dropout, Linear).

Differences from the official code: attention ignores padded frames (masks), the CE module reads the
modalities present (text alone: no shift), and the word embeddings are trained (the official code computes
them without gradient). Attention, not position, relates frames to tokens, so unaligned data works.
Needs token text (a transformers encoder to sit in).

Penalty taps: unimodal = text: the mean token state entering CE; audio/vision: the mean transformed frame;
fused = the head's tanh layer on the final [CLS] state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from mifusion.config import ModelConfig
from mifusion.data.batch import MultimodalBatch
from mifusion.data.spec import DataSpec
from mifusion.encoders.build import build_text_encoder
from mifusion.encoders.pooling import masked_mean, masked_softmax_weights
from mifusion.encoders.text import TextEncoder
from mifusion.errors import ConfigError
from mifusion.models.base import MODELS, FusionModel, ModelEntry, ModelOutput
from mifusion.models.common import zero_absent

NONVERBAL = ("audio", "vision")


@dataclass(frozen=True)
class CENETOptions:
    """CENET options: the layer after which CE shifts the states (1: the official code) and the score scale."""

    injection_layer: int = 1
    score_scale: float = 8.0


class CrossModalEnhancement(nn.Module):
    """CE: text-queried attention over each nonverbal modality's transformed frames, a Linear on the
    concatenated contexts added to the token states."""

    def __init__(self, hidden: int, dims: dict[str, int], score_scale: float) -> None:
        super().__init__()
        self.transform = nn.ModuleDict(
            {
                m: nn.Sequential(nn.Linear(d, hidden), nn.ReLU(), nn.Linear(hidden, hidden))
                for m, d in dims.items()
            }
        )
        self.query = nn.ModuleDict({m: nn.Linear(hidden, hidden) for m in dims})
        self.key = nn.ModuleDict({m: nn.Linear(hidden, hidden) for m in dims})
        self.value = nn.ModuleDict({m: nn.Linear(hidden, hidden) for m in dims})
        self.connect = nn.Linear(hidden * len(dims), hidden) if dims else None
        self.score_scale = score_scale

    def forward(
        self, z: Tensor, frames: dict[str, tuple[Tensor, Tensor]]
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """z (B, L, H), frames m -> ((B, T_m, D_m), (B, T_m)) -> shifted z, transformed frames m -> (B, T_m, H)."""
        if self.connect is None:
            return z, {}
        contexts, transformed = [], {}
        for m, (x, mask) in frames.items():
            transformed[m] = self.transform[m](x)
            q, k, v = self.query[m](z), self.key[m](transformed[m]), self.value[m](transformed[m])
            scores = self.score_scale * q @ k.transpose(1, 2)  # (B, L, T_m)
            weights = masked_softmax_weights(scores.flatten(0, 1), mask.repeat_interleave(z.shape[1], 0))
            contexts.append(weights.view_as(scores) @ v)
        return z + self.connect(torch.cat(contexts, dim=-1)), transformed


class CENET(FusionModel):
    """CENET on a transformers encoder with an ``encoder.layer`` list (BERT, RoBERTa, MiniLM).

    Example:
        >>> from mifusion.models.testing import tiny_spec, tiny_batch
        >>> from mifusion.config import TextEncoderConfig
        >>> cfg = ModelConfig(name="cenet", text=TextEncoderConfig(hidden_size=8, intermediate_size=16))
        >>> model = build_cenet(cfg, tiny_spec(), CENETOptions())
        >>> model(tiny_batch(tiny_spec(), 2)).prediction.shape
        torch.Size([2])
    """

    def __init__(self, text: TextEncoder, spec: DataSpec, options: CENETOptions, dropout: float) -> None:
        super().__init__()
        self.modalities = spec.modalities
        self.text_encoder = text
        model: Any = text.model
        layers: Any = model.encoder.layer
        index = min(max(options.injection_layer, 1), len(layers)) - 1
        dims = {m: spec.feature_dims[m] for m in NONVERBAL if m in spec.modalities}
        hidden = text.output_dim
        self.enhance = CrossModalEnhancement(hidden, dims, options.score_scale)
        self._context: dict[str, Any] = {}
        layers[index].register_forward_hook(self._inject)
        self.dense = nn.Linear(hidden, hidden)
        self.out = nn.Linear(hidden, 1)
        self.dropout = nn.Dropout(dropout)
        self.unimodal_dims = dict.fromkeys(self.modalities, hidden)
        self.fused_dim = hidden

    def _inject(self, module: nn.Module, args: Any, output: Any) -> Any:
        """Forward hook on the chosen layer: replaces its hidden states by the enhanced ones."""
        if "frames" not in self._context:
            return output
        hidden = output[0] if isinstance(output, tuple) else output
        shifted, transformed = self.enhance(hidden, self._context["frames"])
        self._context.update(entering=hidden, transformed=transformed)
        return (shifted, *output[1:]) if isinstance(output, tuple) else shifted

    def forward(self, batch: MultimodalBatch) -> ModelOutput:
        """Batch -> prediction (B,), unimodal taps (B, H), fused (B, H)."""
        if batch.token_ids is None or batch.token_mask is None:
            raise ConfigError("CENET needs token text but the batch has none")
        token_mask = batch.token_mask & batch.present["text"].unsqueeze(-1)
        dtype = self.dense.weight.dtype
        frames = {}
        for m in self.enhance.transform:
            mask = batch.masks[m] & batch.present[m].unsqueeze(-1)
            frames[m] = (batch.sequences[m].to(dtype) * mask.unsqueeze(-1).to(dtype), mask)
        self._context = {"frames": frames}
        try:
            encoded = self.text_encoder(batch.token_ids, token_mask) if self.text_encoder else None
            context = self._context
        finally:
            self._context = {}
        assert encoded is not None
        unimodal = {"text": zero_absent(batch, "text", masked_mean(context["entering"], token_mask))}
        for m, x in context["transformed"].items():
            unimodal[m] = zero_absent(batch, m, masked_mean(x, frames[m][1]))
        fused = torch.tanh(self.dense(self.dropout(encoded.states[:, 0])))
        return ModelOutput(self.out(self.dropout(fused)).squeeze(-1), unimodal, fused)


def build_cenet(cfg: ModelConfig, spec: DataSpec, options: CENETOptions) -> FusionModel:
    """Builds CENET; needs token text (a transformers encoder)."""
    if "text" not in spec.modalities or spec.text_kind != "tokens":
        raise ConfigError(
            "model cenet needs token text (a transformers encoder inside which CE sits); "
            "use token text (not precomputed features) or choose another model"
        )
    return CENET(build_text_encoder(cfg.text, spec), spec, options, cfg.dropout)


MODELS.add(
    "cenet",
    ModelEntry(
        build_cenet,
        CENETOptions,
        requires=frozenset({"text"}),
        summary="CENET: cross-modal enhancement inside BERT (Wang 2022; needs token text)",
    ),
)
