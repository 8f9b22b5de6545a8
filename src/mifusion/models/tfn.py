"""TFN: Tensor Fusion Network (Zadeh et al., EMNLP 2017; REFERENCE 1.3).

Unimodal vectors, each extended with a constant 1, are fused by their outer product; on a modality subset
the product runs over the available modalities only (a smaller tensor, not zero-filled slots).
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod
from typing import Literal

from torch import nn

from mifusion.config import ModelConfig
from mifusion.data.batch import MultimodalBatch
from mifusion.data.spec import DataSpec
from mifusion.fusions.tensor import tensor_fusion
from mifusion.models.base import MODELS, FusionModel, ModelEntry, ModelOutput
from mifusion.models.common import ModalityEncoders, mlp, zero_absent
from mifusion.models.mmsa_classic import build_mmsa_classic


@dataclass(frozen=True)
class TFNOptions:
    """TFN options: size of each unimodal vector entering the outer product.

    ``parity: mmsa`` builds MMSA 2.2.1's TFN instead (``mmsa_classic.py``; tensor_dim sizes the audio/vision
    subnetworks and the text output, model.sequence.hidden_dim the text LSTM, model.hidden_dim the
    post-fusion layers).
    """

    tensor_dim: int = 16
    parity: Literal["none", "mmsa"] = "none"


class TFN(FusionModel):
    """Tensor Fusion Network.

    Example:
        >>> from mifusion.models.testing import tiny_spec, tiny_batch
        >>> model = build_tfn(ModelConfig(name="tfn", hidden_dim=8), tiny_spec(), TFNOptions(4))
        >>> model(tiny_batch(tiny_spec(), 2)).fused.shape
        torch.Size([2, 125])
    """

    def __init__(self, encoders: ModalityEncoders, tensor_dim: int, hidden_dim: int, dropout: float) -> None:
        super().__init__()
        self.modalities = encoders.modalities
        self.encoders = encoders
        self.text_encoder = encoders.text_encoder
        self.subnets = nn.ModuleDict(
            {m: nn.Sequential(nn.Linear(d, tensor_dim), nn.ReLU()) for m, d in encoders.output_dims.items()}
        )
        fused_dim = prod(tensor_dim + 1 for _ in self.modalities)
        self.unimodal_dims = dict.fromkeys(self.modalities, tensor_dim)
        self.fused_dim = fused_dim
        self.head = nn.Sequential(nn.Dropout(dropout), mlp([fused_dim, hidden_dim, hidden_dim, 1], dropout))

    def forward(self, batch: MultimodalBatch) -> ModelOutput:
        """Batch -> prediction (B,), unimodal (B, tensor_dim), fused (B, (tensor_dim+1)^M)."""
        encoded = self.encoders(batch)
        unimodal = {m: zero_absent(batch, m, self.subnets[m](encoded[m].pooled)) for m in self.modalities}
        fused = tensor_fusion([unimodal[m] for m in self.modalities])
        return ModelOutput(self.head(fused).squeeze(-1), unimodal, fused)


def build_tfn(cfg: ModelConfig, spec: DataSpec, options: TFNOptions) -> FusionModel:
    """Builds TFN on the spec's modalities."""
    if options.parity == "mmsa":
        d = options.tensor_dim
        return build_mmsa_classic(
            "tfn", spec, "tensor", d, (cfg.sequence.hidden_dim, d), cfg.hidden_dim, cfg.dropout
        )
    return TFN(ModalityEncoders(spec, cfg), options.tensor_dim, cfg.hidden_dim, cfg.dropout)


MODELS.add("tfn", ModelEntry(build_tfn, TFNOptions, summary="TFN: outer-product tensor fusion (Zadeh 2017)"))
