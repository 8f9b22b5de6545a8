"""ALMT: Adaptive Language-guided Multimodal Transformer (Zhang et al., EMNLP 2023; in MMSA after 2.2.1).

Written from the paper and its official code's description, as facts; no parity test (MMSA 2.2.1 lacks
it). Each modality is projected to ``dim`` and read by a small transformer with ``tokens`` learnable tokens
prepended (learned positions); its first ``tokens`` outputs are that modality's representation. A language
transformer of ``ahl_depth - 1`` layers yields ``ahl_depth`` language levels (its input, then each layer).
Adaptive hyper-modality learning: a learned hyper-modality (``tokens`` x ``dim``, initialised to ones) is,
at each level, layer-normalised and shifted by the attention of the (normalised) language level over each
(normalised) nonverbal representation, summed over the nonverbal modalities. A cross-modal transformer
(a shared learned [CLS] prepended to both, learned positions) lets the last language level attend to the
hyper-modality; its [CLS] output is regressed by a Linear layer. All transformers are pre-norm (GELU MLP).

Differences from the official code: padded frames are masked in the embedding transformers (the official
code reads fixed-length padded sequences); sequences longer than ``max_length`` are cut. Needs text; audio
and vision are used when present (text alone: the hyper-modality stays the learned tokens).

Penalty taps: unimodal = each modality's mean token; fused = the fusion transformer's [CLS] output.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from mifusion.config import ModelConfig
from mifusion.data.batch import MultimodalBatch
from mifusion.data.spec import DataSpec
from mifusion.models.base import MODELS, FusionModel, ModelEntry, ModelOutput
from mifusion.models.common import ModalityEncoders, frame_dims, present_of, zero_absent


@dataclass(frozen=True)
class ALMTOptions:
    """ALMT sizes (the official MOSI values: dim 128, 8 tokens, 8 heads, AHL depth 3, fusion depth 2)."""

    dim: int = 128
    tokens: int = 8
    heads: int = 8
    head_dim: int = 16
    embedding_depth: int = 1
    ahl_depth: int = 3
    fusion_depth: int = 2
    mlp_dim: int = 128
    max_length: int = 512


class Attention(nn.Module):
    """Multi-head attention without biases on q, k, v (scaled dot product), a Linear out."""

    def __init__(self, dim: int, heads: int, head_dim: int, dropout: float) -> None:
        super().__init__()
        inner = heads * head_dim
        self.heads, self.scale = heads, head_dim**-0.5
        self.q, self.k, self.v = (nn.Linear(dim, inner, bias=False) for _ in range(3))
        self.out = nn.Sequential(nn.Linear(inner, dim), nn.Dropout(dropout))

    def forward(self, q: Tensor, k: Tensor, v: Tensor, key_mask: Tensor | None = None) -> Tensor:
        """(B, N, D), (B, M, D), (B, M, D), optional (B, M) valid keys -> (B, N, D)."""

        def split(x: Tensor) -> Tensor:
            return x.view(x.shape[0], x.shape[1], self.heads, -1).transpose(1, 2)

        scores = split(self.q(q)) @ split(self.k(k)).transpose(-1, -2) * self.scale  # (B, h, N, M)
        if key_mask is not None:
            scores = scores.masked_fill(~key_mask[:, None, None, :], torch.finfo(scores.dtype).min)
        out = torch.softmax(scores, dim=-1) @ split(self.v(v))
        return self.out(out.transpose(1, 2).flatten(2))


class Block(nn.Module):
    """Pre-norm block: x + Attn(LN q, LN k, LN v), then x + MLP(LN x)."""

    def __init__(self, dim: int, heads: int, head_dim: int, mlp_dim: int, dropout: float) -> None:
        super().__init__()
        self.norms = nn.ModuleList([nn.LayerNorm(dim) for _ in range(4)])
        self.attention = Attention(dim, heads, head_dim, dropout)
        self.mlp = nn.Sequential(
            nn.Linear(dim, mlp_dim),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Linear(mlp_dim, dim),
            nn.Dropout(dropout),
        )

    def forward(self, x: Tensor, source: Tensor | None = None, mask: Tensor | None = None) -> Tensor:
        """Self-attention (source None) or attention of x over source, then the MLP."""
        source = x if source is None else source
        x = x + self.attention(self.norms[0](x), self.norms[1](source), self.norms[2](source), mask)
        return x + self.mlp(self.norms[3](x))


class HyperLayer(nn.Module):
    """One AHL layer: the normalised hyper-modality plus Linear(sum over nonverbal m of the attention of
    the normalised language level (shared query) over normalised m (its own keys and values))."""

    def __init__(self, nonverbal: tuple[str, ...], o: ALMTOptions, dropout: float) -> None:
        super().__init__()
        inner = o.heads * o.head_dim
        self.norms = nn.ModuleDict({m: nn.LayerNorm(o.dim) for m in ("text", "hyper", *nonverbal)})
        self.q = nn.Linear(o.dim, inner, bias=False)
        self.k = nn.ModuleDict({m: nn.Linear(o.dim, inner, bias=False) for m in nonverbal})
        self.v = nn.ModuleDict({m: nn.Linear(o.dim, inner, bias=False) for m in nonverbal})
        self.out = nn.Sequential(nn.Linear(inner, o.dim), nn.Dropout(dropout)) if nonverbal else None
        self.heads, self.scale = o.heads, o.head_dim**-0.5

    def forward(self, level: Tensor, sources: dict[str, Tensor], hyper: Tensor) -> Tensor:
        """Language level (B, N, D), nonverbal m -> (B, N_m, D), hyper (B, N, D) -> new hyper."""
        hyper = self.norms["hyper"](hyper)
        if self.out is None:
            return hyper

        def split(x: Tensor) -> Tensor:
            return x.view(x.shape[0], x.shape[1], self.heads, -1).transpose(1, 2)

        q = split(self.q(self.norms["text"](level)))
        total = torch.zeros_like(q)
        for m, x in sources.items():
            x = self.norms[m](x)
            weights = torch.softmax(q @ split(self.k[m](x)).transpose(-1, -2) * self.scale, dim=-1)
            total = total + weights @ split(self.v[m](x))
        return hyper + self.out(total.transpose(1, 2).flatten(2))


class TokenEmbedding(nn.Module):
    """Linear to ``dim``, learnable tokens prepended, learned positions, transformer; the first tokens."""

    def __init__(self, input_dim: int, options: ALMTOptions, dropout: float) -> None:
        super().__init__()
        o = options
        self.project = nn.Linear(input_dim, o.dim)
        self.extra = nn.Parameter(torch.zeros(1, o.tokens, o.dim))
        self.positions = nn.Parameter(torch.randn(1, o.tokens + o.max_length, o.dim))
        self.blocks = nn.ModuleList(
            Block(o.dim, o.heads, o.head_dim, o.mlp_dim, dropout) for _ in range(o.embedding_depth)
        )
        self.tokens, self.max_length = o.tokens, o.max_length

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        """(B, T, D_in), (B, T) -> (B, tokens, dim)."""
        x, mask = x[:, : self.max_length], mask[:, : self.max_length]
        h = torch.cat([self.extra.expand(x.shape[0], -1, -1), self.project(x)], dim=1)
        h = h + self.positions[:, : h.shape[1]]
        valid = torch.cat([mask.new_ones(mask.shape[0], self.tokens), mask], dim=1)
        for block in self.blocks:
            h = block(h, mask=valid)
        return h[:, : self.tokens]


class ALMT(FusionModel):
    """Adaptive Language-guided Multimodal Transformer (see the module docstring)."""

    def __init__(self, spec: DataSpec, text: ModalityEncoders | None, options: ALMTOptions, dropout: float):
        super().__init__()
        o = options
        self.modalities = spec.modalities
        self.text = text
        self.text_encoder = text.text_encoder if text is not None else None
        dims = frame_dims(spec, text)
        self.embed = nn.ModuleDict({m: TokenEmbedding(dims[m], o, dropout) for m in self.modalities})
        self.language_positions = nn.Parameter(torch.randn(1, o.tokens, o.dim))
        self.language = nn.ModuleList(
            Block(o.dim, o.heads, o.head_dim, o.mlp_dim, dropout) for _ in range(o.ahl_depth - 1)
        )
        self.nonverbal = tuple(m for m in self.modalities if m != "text")
        self.hyper = nn.Parameter(torch.ones(1, o.tokens, o.dim))
        self.ahl = nn.ModuleList(HyperLayer(self.nonverbal, o, dropout) for _ in range(o.ahl_depth))
        self.cls = nn.Parameter(torch.zeros(1, 1, o.dim))
        self.fusion_positions = nn.Parameter(torch.randn(2, 1, o.tokens + 1, o.dim))  # source, target
        self.fusion = nn.ModuleList(
            Block(o.dim, o.heads, o.head_dim, o.mlp_dim, dropout) for _ in range(o.fusion_depth)
        )
        self.head = nn.Linear(o.dim, 1)
        self.unimodal_dims = dict.fromkeys(self.modalities, o.dim)
        self.fused_dim = o.dim

    def sequence(self, batch: MultimodalBatch, m: str) -> tuple[Tensor, Tensor]:
        """(B, T, D_m) frames of ``m`` (token text: the text encoder's states) and the (B, T) mask."""
        dtype = self.head.weight.dtype
        if m == "text" and self.text is not None:
            encoded = self.text.encode(batch, "text")
            return encoded.states.to(dtype), encoded.mask
        mask = batch.masks[m] & present_of(batch, m, batch.labels)[:, None]
        return batch.sequences[m].to(dtype) * mask.unsqueeze(-1).to(dtype), mask

    def forward(self, batch: MultimodalBatch) -> ModelOutput:
        """Batch -> prediction (B,), mean tokens per modality (B, dim), fused [CLS] (B, dim)."""
        h = {m: self.embed[m](*self.sequence(batch, m)) for m in self.modalities}
        levels = [h["text"] + self.language_positions]
        for block in self.language:
            levels.append(block(levels[-1]))
        hyper = self.hyper.expand(h["text"].shape[0], -1, -1)
        for level, layer in zip(levels, self.ahl, strict=True):
            hyper = layer(level, {m: h[m] for m in self.nonverbal}, hyper)
        cls = self.cls.expand(hyper.shape[0], -1, -1)
        source = torch.cat([cls, hyper], dim=1) + self.fusion_positions[0]
        target = torch.cat([cls, levels[-1]], dim=1) + self.fusion_positions[1]
        for block in self.fusion:
            target = block(target, source)
        fused = target[:, 0]
        unimodal = {m: zero_absent(batch, m, h[m].mean(dim=1)) for m in self.modalities}
        return ModelOutput(self.head(fused).squeeze(-1), unimodal, fused)


def build_almt(cfg: ModelConfig, spec: DataSpec, options: ALMTOptions) -> ALMT:
    """Builds ALMT (text required; token text through ``model.text``, feature text as given)."""
    text = ModalityEncoders(spec, cfg, ("text",)) if spec.text_kind == "tokens" else None
    return ALMT(spec, text, options, cfg.dropout)


MODELS.add(
    "almt",
    ModelEntry(
        build_almt,
        ALMTOptions,
        requires=frozenset({"text"}),
        summary="ALMT: language-guided hyper-modality learning (Zhang 2023; needs text)",
    ),
)
