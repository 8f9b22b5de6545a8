"""LF-DNN: late fusion of per-modality encodings through an MLP head (REFERENCE 1.3).

Each modality is encoded separately, passed through its own small network, concatenated and regressed.
On ``{text}`` alone this is "the text-only model": a text encoder with an MLP head.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from mifusion.config import ModelConfig
from mifusion.data.batch import MultimodalBatch
from mifusion.data.spec import DataSpec
from mifusion.models.base import MODELS, FusionModel, ModelEntry, ModelOutput
from mifusion.models.common import ModalityEncoders, mlp, zero_absent
from mifusion.models.mmsa_classic import build_mmsa_classic


@dataclass(frozen=True)
class LFDNNOptions:
    """LF-DNN options.

    Attributes:
        unimodal_dim: width of each modality's post-encoder network (``head="mlp"``).
        head: ``"mlp"`` (per-modality subnet, concat, two-layer MLP) or ``"linear"`` (the pooled encodings,
            concatenated, dropout, one linear layer: on ``{text}`` this is the plain "CLS -> linear" fine-tune).
        parity: ``"mmsa"`` builds MMSA 2.2.1's LF_DNN (``mmsa_classic.py``; unimodal_dim sizes every
            subnetwork's output, model.sequence.hidden_dim the text LSTM, model.hidden_dim the post-fusion
            layers; ``head`` is ignored).
    """

    unimodal_dim: int = 32
    head: Literal["mlp", "linear"] = "mlp"
    parity: Literal["none", "mmsa"] = "none"


class LFDNN(FusionModel):
    """Late-fusion DNN (e.g. Williams et al. 2018, as in MMSA's LF_DNN baseline).

    Example:
        >>> from mifusion.models.testing import tiny_spec, tiny_batch
        >>> model = build_lf_dnn(ModelConfig(name="lf_dnn"), tiny_spec(), LFDNNOptions())
        >>> model(tiny_batch(tiny_spec(), 2)).prediction.shape
        torch.Size([2])
    """

    def __init__(
        self, encoders: ModalityEncoders, options: LFDNNOptions, hidden_dim: int, dropout: float
    ) -> None:
        super().__init__()
        self.modalities = encoders.modalities
        self.encoders = encoders
        self.text_encoder = encoders.text_encoder
        dims = encoders.output_dims
        if options.head == "linear":
            self.subnets = nn.ModuleDict({m: nn.Identity() for m in dims})
            self.unimodal_dims = {m: dims[m] for m in self.modalities}
        else:
            u = options.unimodal_dim
            self.subnets = nn.ModuleDict(
                {m: nn.Sequential(nn.Linear(d, u), nn.ReLU(), nn.Dropout(dropout)) for m, d in dims.items()}
            )
            self.unimodal_dims = dict.fromkeys(self.modalities, u)
        self.fused_dim = sum(self.unimodal_dims.values())
        self.head: nn.Module = (
            nn.Sequential(nn.Dropout(dropout), nn.Linear(self.fused_dim, 1))
            if options.head == "linear"
            else mlp([self.fused_dim, hidden_dim, 1], dropout)
        )

    def forward(self, batch: MultimodalBatch) -> ModelOutput:
        """Batch -> prediction (B,), unimodal (B, U_m) per modality, fused (B, sum of U_m)."""
        encoded = self.encoders(batch)
        unimodal = {m: zero_absent(batch, m, self.subnets[m](encoded[m].pooled)) for m in self.modalities}
        fused = torch.cat([unimodal[m] for m in self.modalities], dim=-1)  # (B, sum U_m)
        return ModelOutput(self.head(fused).squeeze(-1), unimodal, fused)


def build_lf_dnn(cfg: ModelConfig, spec: DataSpec, options: LFDNNOptions) -> FusionModel:
    """Builds LF-DNN on the spec's modalities."""
    if options.parity == "mmsa":
        d = options.unimodal_dim
        return build_mmsa_classic(
            "lf_dnn", spec, "concat", d, (cfg.sequence.hidden_dim, d), cfg.hidden_dim, cfg.dropout
        )
    encoders = ModalityEncoders(spec, cfg)
    return LFDNN(encoders, options, cfg.hidden_dim, cfg.dropout)


MODELS.add(
    "lf_dnn",
    ModelEntry(build_lf_dnn, LFDNNOptions, summary="late fusion: per-modality encoders, concat, MLP head"),
)
