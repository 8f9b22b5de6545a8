"""TETFN: Text Enhanced Transformer Fusion Network (Wang et al., Pattern Recognition 2023; in MMSA after
2.2.1, not in 2.2.1).

Written from the paper and its official code's description, as facts; no parity test (MMSA 2.2.1 lacks
it). Each modality's states (``model.text`` for token text, else a one-layer LSTM of ``lstm_hidden``) are
projected to ``dim`` by a temporal Conv1d; the max over valid steps is that modality's unimodal vector.
For each target modality the other modalities are attended to: text attends to each nonverbal modality
directly; a nonverbal modality attends to text directly and to the other nonverbal modality through a
*text-enhanced* transformer (that modality first attends to text, then the target attends to the result).
The concatenated outputs go through a self-attention transformer; its state at the last valid step is the
target's fused part. The fused vector (all targets) and each unimodal vector feed a head (dropout,
Linear+ReLU = feature, Linear+ReLU, Linear). As in Self-MM (the official trainer reuses its ULGM), each
unimodal head regresses a generated label (``self_mm_labels.py``), weighted by ``tanh(|y_m - y_f|)``;
terms ``<modality>_task`` (weight 1).

Differences from the official code: transformer layers are pre-norm with key padding masks (the official
MulT layers use future masks and read padding), maxima and last steps use the masks, and one kernel size
serves every modality. Needs text; runs on every subset with text (text alone: its own projection feeds
the self-attention).

Penalty taps: unimodal = each head's feature (what the ULGM compares); fused = the fused head's feature.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from mifusion.config import ModelConfig
from mifusion.data.batch import MultimodalBatch
from mifusion.data.spec import DataSpec
from mifusion.encoders.pooling import last_valid, masked_max
from mifusion.models.almt import Block
from mifusion.models.base import MODELS, FusionModel, ModelEntry, ModelOutput
from mifusion.models.common import ModalityEncoders, frame_dims, present_of
from mifusion.models.mctn import run_lstm
from mifusion.models.self_mm import branch, self_mm_output
from mifusion.models.self_mm_labels import UnimodalLabelMemory


@dataclass(frozen=True)
class TETFNOptions:
    """TETFN sizes (the official MOSI values: dim 50, 5 heads, 2 layers, heads 128/64/32/32 wide)."""

    dim: int = 50
    heads: int = 5
    layers: int = 2
    kernel: int = 1
    lstm_hidden: int = 32
    fusion_dim: int = 128
    text_dim: int = 64
    audio_dim: int = 32
    vision_dim: int = 32
    label_bound: float = 3.0


class Stack(nn.Module):
    """Pre-norm transformer layers (``almt.Block``): self-attention, or attention over a source."""

    def __init__(self, dim: int, heads: int, layers: int, dropout: float) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(Block(dim, heads, dim // heads, 4 * dim, dropout) for _ in range(layers))

    def forward(self, x: Tensor, source: Tensor | None = None, mask: Tensor | None = None) -> Tensor:
        """x (B, T, D), optional source (B, S, D) with its (B, S) valid mask -> (B, T, D)."""
        for block in self.blocks:
            x = block(x, source, mask)
        return x


class TETFN(FusionModel):
    """Text Enhanced Transformer Fusion Network (see the module docstring)."""

    def __init__(self, spec: DataSpec, text: ModalityEncoders | None, options: TETFNOptions, dropout: float):
        super().__init__()
        o = options
        self.modalities = spec.modalities
        self.text = text
        self.text_encoder = text.text_encoder if text is not None else None
        dims = frame_dims(spec, text)
        self.lstms = nn.ModuleDict(
            {
                m: nn.LSTM(dims[m], o.lstm_hidden, batch_first=True)
                for m in self.modalities
                if m not in self.tokens
            }
        )
        states = {m: dims[m] if m in self.tokens else o.lstm_hidden for m in self.modalities}
        k = o.kernel
        self.project = nn.ModuleDict(
            {m: nn.Conv1d(d, o.dim, k, padding=(k - 1) // 2, bias=False) for m, d in states.items()}
        )
        self.nonverbal = tuple(m for m in self.modalities if m != "text")
        self.cross = nn.ModuleDict()
        for t in self.modalities:
            for s in self.modalities:
                if s != t:
                    self.cross[f"{s}_to_{t}"] = Stack(o.dim, o.heads, o.layers, dropout)
                    if "text" not in (s, t):  # text-enhanced: s attends to text first
                        self.cross[f"text_to_{s}_for_{t}"] = Stack(o.dim, o.heads, 1, dropout)
        width = o.dim * max(len(self.modalities) - 1, 1)
        self.memory_layers = nn.ModuleDict(
            {m: Stack(width, o.heads, o.layers, dropout) for m in self.modalities}
        )
        widths = {"text": o.text_dim, "audio": o.audio_dim, "vision": o.vision_dim}
        self.features, self.heads = nn.ModuleDict(), nn.ModuleDict()
        for m in ["fusion", *self.modalities]:
            size, out = (width * len(self.modalities), o.fusion_dim) if m == "fusion" else (o.dim, widths[m])
            self.features[m], self.heads[m] = branch(size, out, dropout)
        self.unimodal_dims = {m: widths[m] for m in self.modalities}
        self.fused_dim = o.fusion_dim
        self.memory = UnimodalLabelMemory({"fusion": o.fusion_dim, **self.unimodal_dims}, o.label_bound)
        self.epoch = 1  # 1-based, as the official trainer counts

    @property
    def tokens(self) -> tuple[str, ...]:
        """The modalities read by the transformers text encoder (token text) rather than an LSTM."""
        return ("text",) if self.text is not None else ()

    def parameter_dtype(self) -> torch.dtype:
        """The parameters' dtype (float64 under precision 64-true)."""
        return next(self.features.parameters()).dtype

    def set_epoch(self, epoch: int) -> None:
        """The trainer's 0-based epoch (label generation starts in the second)."""
        self.epoch = epoch + 1

    def fuse(self, x: dict[str, Tensor], masks: dict[str, Tensor]) -> dict[str, Tensor]:
        """Projected sequences -> each target's fused part (B, width) at its last valid step."""
        out = {}
        for t in self.modalities:
            parts = []
            for s in self.modalities:
                if s == t:
                    continue
                source = x[s]
                if "text" not in (s, t):
                    source = self.cross[f"text_to_{s}_for_{t}"](x[s], x["text"], masks["text"])
                parts.append(self.cross[f"{s}_to_{t}"](x[t], source, masks[s]))
            h = torch.cat(parts, dim=-1) if parts else x[t]
            h = self.memory_layers[t](h, None, masks[t])
            out[t] = last_valid(h, masks[t].sum(dim=1))
        return out

    def forward(self, batch: MultimodalBatch) -> ModelOutput:
        """Batch -> prediction (B,), unimodal features, fused feature, one generated-label term each."""
        x, masks, pooled = {}, {}, {}
        dtype = self.parameter_dtype()
        for m in self.modalities:
            if self.text is not None and m == "text":
                encoded = self.text.encode(batch, m)
                states, masks[m] = encoded.states.to(dtype), encoded.mask
            else:
                masks[m] = batch.masks[m] & present_of(batch, m, batch.labels)[:, None]
                lstm = self.lstms[m]
                assert isinstance(lstm, nn.LSTM)
                states = run_lstm(lstm, batch.sequences[m].to(dtype), masks[m])[0]
            states = states * masks[m].unsqueeze(-1).to(dtype)
            x[m] = self.project[m](states.transpose(1, 2)).transpose(1, 2)
            pooled[m] = masked_max(x[m], masks[m])
        fused_parts = self.fuse(x, masks)
        features = {
            "fusion": self.features["fusion"](torch.cat([fused_parts[m] for m in self.modalities], -1))
        }
        features.update({m: self.features[m](pooled[m]) for m in self.modalities})
        return self_mm_output(
            self.heads, self.memory, batch, features, self.modalities, self.training, self.epoch
        )


def build_tetfn(cfg: ModelConfig, spec: DataSpec, options: TETFNOptions) -> TETFN:
    """Builds TETFN on the spec's modalities (text required)."""
    text = ModalityEncoders(spec, cfg, ("text",)) if spec.text_kind == "tokens" else None
    return TETFN(spec, text, options, cfg.dropout)


MODELS.add(
    "tetfn",
    ModelEntry(
        build_tetfn,
        TETFNOptions,
        requires=frozenset({"text"}),
        summary="TETFN: text-enhanced transformer fusion, generated unimodal labels (Wang 2023; needs text)",
    ),
)
