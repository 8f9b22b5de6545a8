"""TFR-Net's parts (``tfr_net.py``): the cross-modal alignment, the gated fusion encoders and the losses."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from mifusion.encoders.pooling import masked_max
from mifusion.models.mmsa_mult import ScaledTransformer

MIN_LAYERS = 3
"""MMSA builds the intra-modal and temporal transformers with ``max(nlevels, 3)`` layers."""


def sinusoid_positions(mask: Tensor, dim: int) -> Tensor:
    """(B, T, dim) fairseq sinusoids for positions 1..T (tensor2tensor layout, computed in float32), zero at
    invalid steps (MMSA's ``SinusoidalPositionalEmbedding`` with padding index 0)."""
    half = dim // 2
    rate = torch.exp(torch.arange(half, dtype=torch.float32) * -(math.log(10000) / (half - 1)))
    angles = torch.arange(1, mask.shape[1] + 1, dtype=torch.float32).unsqueeze(1) * rate.unsqueeze(0)
    table = torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)
    table = F.pad(table, (0, dim - 2 * half)).to(mask.device)  # (T, dim)
    return table.unsqueeze(0) * mask.unsqueeze(-1).to(table.dtype)


class PositionalTransformer(ScaledTransformer):
    """MMSA's transformer encoder with sinusoidal positions added after the sqrt(dim) scaling."""

    def forward_with_positions(
        self, x: Tensor, mask: Tensor, source: Tensor | None = None, source_mask: Tensor | None = None
    ) -> Tensor:
        """x (T, B, D) with its (B, T) mask; optional source (S, B, D) with its mask -> (T, B, D)."""
        dim = x.shape[-1]
        x = x + sinusoid_positions(mask, dim).to(x.dtype).transpose(0, 1) / self.scale
        if source is not None and source_mask is not None:
            source = source + sinusoid_positions(source_mask, dim).to(x.dtype).transpose(0, 1) / self.scale
        return self(x, source)


def positional(module: nn.Module) -> Callable[..., Tensor]:
    """``module.forward_with_positions`` of a :class:`PositionalTransformer`."""
    assert isinstance(module, PositionalTransformer)
    return module.forward_with_positions


class CrossmodalAlignment(nn.Module):
    """Per modality: a temporal Conv1d to ``dim`` (none when already ``dim`` wide), an intra-modal
    transformer and one cross-modal transformer per other modality (concatenated: width ``M * dim``), then a
    temporal transformer whose tokens are those feature channels and whose embedding is the time axis."""

    def __init__(
        self, dims: dict[str, int], lengths: dict[str, int], dim: int, heads: int, temporal_heads: int,
        layers: int, kernels: dict[str, int], dropout: float, text_dropout: float,
    ) -> None:  # fmt: skip
        super().__init__()
        self.modalities = tuple(dims)
        self.project = nn.ModuleDict(
            {
                m: nn.Conv1d(d, dim, kernels[m], padding=(kernels[m] - 1) // 2, bias=False)
                for m, d in dims.items()
                if d != dim
            }
        )
        deep = max(layers, MIN_LAYERS)
        self.intra = nn.ModuleDict({m: PositionalTransformer(dim, heads, deep, dropout) for m in dims})
        self.cross = nn.ModuleDict(
            {
                f"{s}_to_{t}": PositionalTransformer(dim, heads, layers, dropout)
                for t in dims
                for s in dims
                if s != t
            }
        )
        self.temporal = nn.ModuleDict(
            {m: ScaledTransformer(lengths[m], temporal_heads, deep, dropout) for m in dims}
        )
        self.text_dropout = text_dropout
        self.width = dim * len(dims)

    def forward(
        self, x: dict[str, Tensor], masks: dict[str, Tensor]
    ) -> tuple[dict[str, Tensor], dict[str, Tensor]]:
        """(B, L_m, D_m) inputs -> per modality (B, L_m, M*dim) aligned states and temporal states."""
        seq = {}
        for m in self.modalities:
            h = x[m].transpose(1, 2)
            if m == "text":
                h = F.dropout(h, self.text_dropout, self.training)
            seq[m] = (self.project[m](h) if m in self.project else h).permute(2, 0, 1)  # (L, B, dim)
        aligned, temporal = {}, {}
        for t in self.modalities:
            parts = [positional(self.intra[t])(seq[t], masks[t])]
            parts += [
                positional(self.cross[f"{s}_to_{t}"])(seq[t], masks[t], seq[s], masks[s])
                for s in self.modalities
                if s != t
            ]
            h = torch.cat(parts, dim=-1)  # (L, B, M*dim)
            aligned[t] = h.transpose(0, 1)
            temporal[t] = self.temporal[t](h.permute(2, 1, 0)).permute(
                1, 2, 0
            )  # channels as tokens -> (B, L, W)
        return aligned, temporal


class GatedEncoder(nn.Module):
    """C-Gate: bidirectional GRU, a Conv1d gate on its states, tanh(Linear([x; gated])), max over valid steps."""

    def __init__(self, input_dim: int, hidden: int, layers: int, dropout: float) -> None:
        super().__init__()
        self.gru = nn.GRU(input_dim, hidden, num_layers=layers, bidirectional=True, batch_first=True)
        self.gate = nn.Conv1d(2 * hidden, 1, kernel_size=3, padding=1)
        self.fc = nn.Linear(2 * hidden + input_dim, hidden)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        """(B, L, D), (B, L) -> (B, hidden)."""
        lengths = mask.sum(dim=1).clamp_min(1).cpu()
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        states, _ = pad_packed_sequence(self.gru(packed)[0], batch_first=True, total_length=x.shape[1])
        gate = torch.sigmoid(self.gate(states.transpose(1, 2))).transpose(1, 2)  # (B, L, 1)
        rep = torch.tanh(self.fc(torch.cat([x, torch.tanh(states) * gate], dim=-1)))
        return self.dropout(masked_max(rep, mask))


def central_moment_discrepancy(x1: Tensor, x2: Tensor, moments: int = 3) -> Tensor:
    """CMD (Zellinger et al., 2017) between the rows of x1 and x2 (flattened to (N, D)), without scaling."""
    x1, x2 = x1.reshape(-1, x1.shape[-1]), x2.reshape(-1, x2.shape[-1])
    m1, m2 = x1.mean(0), x2.mean(0)
    total = ((m1 - m2).pow(2).sum() + 1e-12).sqrt()
    for k in range(2, moments + 1):
        s1, s2 = (x1 - m1).pow(k).mean(0), (x2 - m2).pow(k).mean(0)
        total = total + ((s1 - s2).pow(2).sum() + 1e-12).sqrt()
    return total


def reconstruction_loss(rebuilt: Tensor, target: Tensor, mask: Tensor, sim_weight: float) -> Tensor:
    """Smooth-L1 (summed) over the masked frames plus ``sim_weight`` times their CMD, each divided by the
    number of masked entries (+1e-4), as MMSA's ``RECLoss`` (``combine``). Exactly zero (still attached to
    the graph) when nothing is masked, where MMSA's CMD leaves a constant from its square roots' 1e-12."""
    if not bool(mask.any()):
        return (rebuilt * 0.0).sum()
    weights = mask.to(rebuilt.dtype).unsqueeze(-1).expand_as(rebuilt)
    a, b = rebuilt * weights, target * weights
    count = weights.sum() + 1e-4
    loss = F.smooth_l1_loss(a, b, reduction="sum") / count
    if sim_weight:
        loss = loss + sim_weight * central_moment_discrepancy(a, b) / count
    return loss
