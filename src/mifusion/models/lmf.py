"""LMF: Low-rank Multimodal Fusion (Liu et al., ACL 2018; REFERENCE 1.3).

The TFN tensor is replaced by rank-r modality-specific factors; a subset uses factors of its modalities.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from mifusion.config import ModelConfig
from mifusion.data.batch import MultimodalBatch
from mifusion.data.spec import DataSpec
from mifusion.fusions.low_rank import LowRankFusion
from mifusion.models.base import MODELS, FusionModel, ModelEntry, ModelOutput
from mifusion.models.common import ModalityEncoders, mlp, zero_absent
from mifusion.models.mmsa_classic import build_mmsa_classic


@dataclass(frozen=True)
class LMFOptions:
    """LMF options: unimodal vector size, fusion rank, fused size and how the factors start.

    ``parity: mmsa`` builds MMSA 2.2.1's LMF instead (``mmsa_classic.py``: unimodal_dim sizes the
    audio/vision subnetworks, model.sequence.hidden_dim the text LSTM, whose subnetwork outputs half that;
    the low-rank fusion regresses directly, so fused_dim is unused).

    Attributes:
        factor_init: ``unit_bias`` (default): Xavier-normal factors whose rows for the appended constant 1
            start at 1, so the product over modalities starts as 1 plus each modality's linear term.
            ``xavier``: every factor entry Xavier-normal, as the reference code; with fused_dim 32 and
            three modalities the product of three small projections starts near 1e-4 and training stalls
            (docs/baselines.md).
    """

    unimodal_dim: int = 32
    rank: int = 4
    fused_dim: int = 32
    factor_init: Literal["unit_bias", "xavier"] = "unit_bias"
    parity: Literal["none", "mmsa"] = "none"


class LMF(FusionModel):
    """Low-rank Multimodal Fusion.

    Example:
        >>> from mifusion.models.testing import tiny_spec, tiny_batch
        >>> model = build_lmf(ModelConfig(name="lmf"), tiny_spec(), LMFOptions(4, 2, 6))
        >>> model(tiny_batch(tiny_spec(), 2)).fused.shape
        torch.Size([2, 6])
    """

    def __init__(self, encoders: ModalityEncoders, options: LMFOptions, dropout: float) -> None:
        super().__init__()
        self.modalities = encoders.modalities
        self.encoders = encoders
        self.text_encoder = encoders.text_encoder
        self.subnets = nn.ModuleDict(
            {
                m: nn.Sequential(nn.Linear(d, options.unimodal_dim), nn.ReLU(), nn.Dropout(dropout))
                for m, d in encoders.output_dims.items()
            }
        )
        dims = dict.fromkeys(self.modalities, options.unimodal_dim)
        self.fusion = LowRankFusion(dims, options.fused_dim, options.rank)
        if options.factor_init == "unit_bias":
            with torch.no_grad():
                for factor in self.fusion.factors.values():
                    factor[:, 0, :] = 1.0  # (rank, 1 + D_m, fused_dim): the row the constant 1 multiplies
        self.head = mlp([options.fused_dim, options.fused_dim, 1], dropout)
        self.unimodal_dims = dims
        self.fused_dim = options.fused_dim

    def forward(self, batch: MultimodalBatch) -> ModelOutput:
        """Batch -> prediction (B,), unimodal (B, unimodal_dim), fused (B, fused_dim)."""
        encoded = self.encoders(batch)
        unimodal = {m: zero_absent(batch, m, self.subnets[m](encoded[m].pooled)) for m in self.modalities}
        fused = self.fusion(unimodal)
        return ModelOutput(self.head(fused).squeeze(-1), unimodal, fused)


def build_lmf(cfg: ModelConfig, spec: DataSpec, options: LMFOptions) -> FusionModel:
    """Builds LMF on the spec's modalities."""
    if options.parity == "mmsa":
        text = (cfg.sequence.hidden_dim, cfg.sequence.hidden_dim // 2)
        return build_mmsa_classic(
            "lmf", spec, "low_rank", options.unimodal_dim, text, 0, cfg.dropout, rank=options.rank
        )
    return LMF(ModalityEncoders(spec, cfg), options, cfg.dropout)


MODELS.add("lmf", ModelEntry(build_lmf, LMFOptions, summary="LMF: low-rank multimodal fusion (Liu 2018)"))
