"""TFR-Net: Transformer-based Feature Reconstruction Network (Yuan et al., ACM MM 2021; MMSA 2.2.1's
``tfr_net``), for data with randomly missing frames and tokens.

In training, every valid frame (token) is dropped with probability ``missing_rate`` (features zeroed,
tokens replaced by ``unk_token_id``; a text's first and last tokens are kept), as MMSA's loader does. The
corrupted sequences, padded (or cut) to fixed lengths, go through a cross-modal alignment (per modality: a
temporal Conv1d, an intra-modal transformer and cross-modal transformers from the other modalities,
concatenated; ``tfr_net_parts.CrossmodalAlignment``); a gated BiGRU encoder per modality (C-Gate) pools the
aligned states and a BatchNorm-MLP classifier regresses the label. A temporal transformer and a Linear
generator per modality reconstruct the complete inputs from the aligned states; terms ``tfr_<modality>``:
Smooth-L1 plus ``sim_weight`` times CMD on the dropped frames (weights: text 5, audio 2, vision 20),
switched on from epoch ``reconstruction_from_epoch`` (MMSA's trainer adds them from its second epoch).
In evaluation nothing is dropped (the terms are then zero).

Corrections of MMSA's behaviour (tested against MMSA with its temporal transformers given the corrected
axes): MMSA hands its temporal transformers (B, channels, time) where they expect (tokens, batch, embed),
so they attend over the *samples of the batch*; here the channels are the tokens of each sample. The
C-Gate max-pool and the positional embeddings use the masks (MMSA pools over padding, and infers padding
from a zero first feature). As in MMSA, attention sees the zero padding of the fixed lengths. MMSA's
separate dropouts collapse to ``model.dropout`` (text input: ``text_dropout``). Runs on any modality subset.

Penalty taps: unimodal = the C-Gate vectors; fused = their concatenation (the classifier's input).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, replace
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mifusion.config import ModelConfig
from mifusion.data.batch import MultimodalBatch
from mifusion.data.spec import DataSpec
from mifusion.errors import ConfigError
from mifusion.models.base import MODELS, FusionModel, ModelEntry, ModelOutput
from mifusion.models.common import ModalityEncoders, frame_dims, present_of, zero_absent
from mifusion.models.tfr_net_parts import CrossmodalAlignment, GatedEncoder, reconstruction_loss
from mifusion.objectives import WeightedTerm


@dataclass(frozen=True)
class TFRNetOptions:
    """TFR-Net sizes (MMSA's MOSI values; lengths: its unaligned MOSI padding, text in tokens)."""

    dim: int = 30
    num_heads: int = 6
    layers: int = 3
    temporal_heads: int = 25
    lengths: dict[str, int] = field(default_factory=lambda: {"text": 50, "audio": 500, "vision": 375})
    kernels: dict[str, int] = field(default_factory=lambda: {"text": 1, "audio": 5, "vision": 3})
    fusion_hidden: dict[str, int] = field(default_factory=lambda: {"text": 36, "audio": 20, "vision": 48})
    gru_layers: int = 3
    classifier_hidden: int = 128
    text_dropout: float = 0.2
    missing_rate: float = 0.2
    unk_token_id: int = 100
    reconstruction_weights: dict[str, float] = field(
        default_factory=lambda: {"text": 5.0, "audio": 2.0, "vision": 20.0}
    )
    sim_weight: float = 5.0
    reconstruction_from_epoch: int = 1


@dataclass
class TFRResult:
    """What one pass computes: the prediction, the C-Gate vectors and the reconstructions."""

    prediction: Tensor
    unimodal: dict[str, Tensor]
    fused: Tensor
    rebuilt: dict[str, Tensor]
    errors: dict[str, Tensor]


def fixed(x: Tensor, mask: Tensor, length: int) -> tuple[Tensor, Tensor]:
    """(B, T, D) zeroed past each length, padded or cut to ``length`` steps, with its mask."""
    x = x * mask.unsqueeze(-1).to(x.dtype)
    if x.shape[1] >= length:
        return x[:, :length], mask[:, :length]
    return F.pad(x, (0, 0, 0, length - x.shape[1])), fit_mask(mask, length)


class TFRNet(FusionModel):
    """Transformer-based Feature Reconstruction Network (see the module docstring)."""

    def __init__(self, spec: DataSpec, text: ModalityEncoders | None, options: TFRNetOptions, dropout: float):
        super().__init__()
        self.modalities = spec.modalities
        self.text = text
        self.text_encoder = text.text_encoder if text is not None else None
        dims = frame_dims(spec, text)
        self.lengths = {m: options.lengths[m] for m in self.modalities}
        self.align = CrossmodalAlignment(
            {m: dims[m] for m in self.modalities}, self.lengths, options.dim, options.num_heads,
            options.temporal_heads, options.layers, options.kernels, dropout, options.text_dropout,
        )  # fmt: skip
        width = self.align.width
        self.generators = nn.ModuleDict({m: nn.Linear(width, dims[m]) for m in self.modalities})
        hidden = {m: options.fusion_hidden[m] for m in self.modalities}
        self.gates = nn.ModuleDict(
            {m: GatedEncoder(width, hidden[m], options.gru_layers, dropout) for m in self.modalities}
        )
        total = sum(hidden.values())
        self.norm = nn.BatchNorm1d(total)
        self.classifier = nn.Sequential(
            nn.Linear(total, options.classifier_hidden), nn.LeakyReLU(), nn.Dropout(dropout),
            nn.Linear(options.classifier_hidden, 1),
        )  # fmt: skip
        self.options = options
        self.epoch: int | None = None
        self.unimodal_dims = hidden
        self.fused_dim = total

    def set_epoch(self, epoch: int) -> None:
        """Reconstruction terms count from ``reconstruction_from_epoch`` (0-based) on."""
        self.epoch = epoch

    def sequences(self, batch: MultimodalBatch, m: str, dtype: torch.dtype) -> tuple[Tensor, Tensor]:
        """(B, L_m, D_m) fixed-length frames of ``m`` (token text: encoder states) and the mask."""
        if m == "text" and self.text is not None:
            encoded = self.text.encode(batch, "text")
            return fixed(encoded.states.to(dtype), encoded.mask, self.lengths[m])
        mask = batch.masks[m] & present_of(batch, m, batch.labels)[:, None]
        return fixed(batch.sequences[m].to(dtype), mask, self.lengths[m])

    def keep_masks(self, batch: MultimodalBatch) -> dict[str, Tensor]:
        """(B, T_m) True where a valid step is kept (random in training, every valid step in evaluation)."""
        keep = {}
        for m in self.modalities:
            if m == "text" and self.text is not None:
                assert batch.token_mask is not None
                mask = batch.token_mask
            else:
                mask = batch.masks[m]
            if not self.training or self.options.missing_rate <= 0:
                keep[m] = mask
                continue
            drawn = (torch.rand(mask.shape, device=mask.device) > self.options.missing_rate) & mask
            if m == "text" and self.text is not None:  # [CLS] and [SEP] stay
                ends = mask.sum(dim=1) - 1
                drawn[:, 0] |= mask[:, 0]
                drawn[torch.arange(mask.shape[0]), ends.clamp_min(0)] |= ends >= 0
            keep[m] = drawn
        return keep

    def corrupt(self, batch: MultimodalBatch, keep: dict[str, Tensor]) -> MultimodalBatch:
        """``batch`` with the steps not kept dropped (frames zeroed, tokens replaced by ``unk_token_id``)."""
        out = dataclasses.replace(batch, sequences=dict(batch.sequences))
        for m in self.modalities:
            if m == "text" and self.text is not None:
                assert batch.token_ids is not None and batch.token_mask is not None
                dropped = batch.token_mask & ~keep[m]
                out.token_ids = torch.where(dropped, self.options.unk_token_id, batch.token_ids)
            else:
                out.sequences[m] = batch.sequences[m] * keep[m].unsqueeze(-1).to(batch.sequences[m].dtype)
        return out

    def run(self, batch: MultimodalBatch, keep: dict[str, Tensor]) -> TFRResult:
        """One pass with the given kept steps (``batch`` is complete; see :meth:`keep_masks`)."""
        dtype = self.norm.weight.dtype
        targets, masks, dropped = {}, {}, {}
        for m in self.modalities:
            targets[m], masks[m] = self.sequences(batch, m, dtype)
            dropped[m] = masks[m] & ~fit_mask(keep[m], self.lengths[m])
        inputs = targets
        if any(bool(d.any()) for d in dropped.values()):
            corrupted = self.corrupt(batch, keep)
            inputs = {m: self.sequences(corrupted, m, dtype)[0] for m in self.modalities}
        aligned, temporal = self.align(inputs, masks)
        unimodal = {m: zero_absent(batch, m, self.gates[m](aligned[m], masks[m])) for m in self.modalities}
        fused = torch.cat([unimodal[m] for m in self.modalities], dim=-1)
        norm = self.norm
        if self.training and fused.shape[0] == 1:  # one sample has no batch statistics: use the running ones
            normed = F.batch_norm(fused, norm.running_mean, norm.running_var, norm.weight, norm.bias)
        else:
            normed = norm(fused)
        rebuilt, errors = {}, {}
        for m in self.modalities:
            rebuilt[m] = self.generators[m](temporal[m])
            errors[m] = reconstruction_loss(rebuilt[m], targets[m], dropped[m], self.options.sim_weight)
        return TFRResult(self.classifier(normed).squeeze(-1), unimodal, fused, rebuilt, errors)

    def forward(self, batch: MultimodalBatch) -> ModelOutput:
        """Batch -> prediction (B,), C-Gate vectors, their concatenation, one reconstruction term each."""
        result = self.run(batch, self.keep_masks(batch))
        on = self.epoch is None or self.epoch >= self.options.reconstruction_from_epoch
        weights = self.options.reconstruction_weights
        terms = {f"tfr_{m}": WeightedTerm(v, weights[m] if on else 0.0) for m, v in result.errors.items()}
        return ModelOutput(result.prediction, result.unimodal, result.fused, terms)


def fit_mask(mask: Tensor, length: int) -> Tensor:
    """(B, T) bool mask padded with False or cut to ``length`` steps."""
    if mask.shape[1] >= length:
        return mask[:, :length]
    return torch.cat([mask, mask.new_zeros(mask.shape[0], length - mask.shape[1])], dim=1)


def build_tfr_net(cfg: ModelConfig, spec: DataSpec, options: TFRNetOptions) -> TFRNet:
    """Builds TFR-Net on the spec's modalities; checks the head counts and the token id for dropped tokens."""
    defaults = TFRNetOptions()
    per_modality = ("lengths", "kernels", "fusion_hidden", "reconstruction_weights")
    merged: dict[str, Any] = {k: {**getattr(defaults, k), **getattr(options, k)} for k in per_modality}
    options = replace(options, **merged)
    for m in spec.modalities:
        if options.lengths.get(m, 0) % options.temporal_heads:
            raise ConfigError(
                f"model tfr_net: options.lengths.{m}={options.lengths.get(m)} must be a positive multiple of "
                f"options.temporal_heads={options.temporal_heads} (its temporal transformer embeds the time axis)"
            )
    if spec.text_kind == "tokens" and spec.vocab_size is not None and options.unk_token_id >= spec.vocab_size:
        raise ConfigError(
            f"model tfr_net: options.unk_token_id={options.unk_token_id} is outside the vocabulary "
            f"({spec.vocab_size} tokens); set it to the tokenizer's [UNK] id"
        )
    text = ModalityEncoders(spec, cfg, ("text",)) if spec.text_kind == "tokens" else None
    return TFRNet(spec, text, options, cfg.dropout)


MODELS.add(
    "tfr_net",
    ModelEntry(
        build_tfr_net, TFRNetOptions, summary="TFR-Net: feature reconstruction for missing frames (Yuan 2021)"
    ),
)
