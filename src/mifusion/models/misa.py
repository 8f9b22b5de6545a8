"""MISA: modality-invariant and -specific representations (Hazarika et al., ACM MM 2020; REFERENCE 1.3).

Each modality's utterance vector is projected into a shared (invariant) and a private (specific) subspace.
Auxiliary terms: CMD similarity of the shared parts across modalities, soft orthogonality (difference)
between shared and private parts and between private parts, reconstruction of the utterance vector from
both. The 2M vectors are fused by a transformer layer, then a head. ``unimodal`` holds the utterance vectors.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from mifusion.config import ModelConfig
from mifusion.data.batch import MultimodalBatch
from mifusion.data.spec import DataSpec
from mifusion.models.base import MODELS, FusionModel, ModelEntry, ModelOutput
from mifusion.models.common import ModalityEncoders, mlp, zero_absent
from mifusion.models.misa_losses import central_moment_discrepancy, soft_orthogonality
from mifusion.objectives import WeightedTerm


@dataclass(frozen=True)
class MISAOptions:
    """MISA options: subspace size, loss weights (MISA's MOSI values) and CMD moments.

    ``parity: mmsa`` builds MMSA 2.2.1's MISA instead (``mmsa_misa.py``; MMSA's MOSI weights are
    similarity 0.3, difference 0.1, reconstruction 1.0).
    """

    dim: int = 32
    similarity_weight: float = 1.0
    difference_weight: float = 0.3
    reconstruction_weight: float = 1.0
    cmd_moments: int = 5
    num_heads: int = 2
    parity: Literal["none", "mmsa"] = "none"


class MISA(FusionModel):
    """MISA.

    Example:
        >>> from mifusion.models.testing import tiny_spec, tiny_batch
        >>> model = build_misa(ModelConfig(name="misa"), tiny_spec(), MISAOptions(dim=4))
        >>> sorted(model(tiny_batch(tiny_spec(), 2)).terms)
        ['misa_difference', 'misa_reconstruction', 'misa_similarity']
    """

    def __init__(
        self, encoders: ModalityEncoders, options: MISAOptions, hidden_dim: int, dropout: float
    ) -> None:
        super().__init__()
        self.modalities = encoders.modalities
        self.encoders = encoders
        self.text_encoder = encoders.text_encoder
        self.options = options
        d = options.dim
        self.project = nn.ModuleDict(
            {
                m: nn.Sequential(nn.Linear(k, d), nn.ReLU(), nn.LayerNorm(d))
                for m, k in encoders.output_dims.items()
            }
        )
        self.shared = nn.Sequential(nn.Linear(d, d), nn.Sigmoid())
        self.private = nn.ModuleDict(
            {m: nn.Sequential(nn.Linear(d, d), nn.Sigmoid()) for m in self.modalities}
        )
        self.reconstruct = nn.ModuleDict({m: nn.Linear(d, d) for m in self.modalities})
        layer = nn.TransformerEncoderLayer(d, options.num_heads, 2 * d, dropout, batch_first=True)
        self.fusion = nn.TransformerEncoder(layer, 1, enable_nested_tensor=False)
        self.head = mlp([2 * len(self.modalities) * d, hidden_dim, 1], dropout)
        self.unimodal_dims = dict.fromkeys(self.modalities, d)
        self.fused_dim = 2 * len(self.modalities) * d

    def forward(self, batch: MultimodalBatch) -> ModelOutput:
        """Batch -> prediction (B,), unimodal (B, dim), fused (B, 2*M*dim), three auxiliary terms."""
        encoded = self.encoders(batch)
        utterance = {m: zero_absent(batch, m, self.project[m](encoded[m].pooled)) for m in self.modalities}
        shared = {m: self.shared(utterance[m]) for m in self.modalities}
        private = {m: self.private[m](utterance[m]) for m in self.modalities}
        zero = next(iter(utterance.values())).new_zeros(())
        pairs = list(combinations(self.modalities, 2))
        similarity = sum(
            (central_moment_discrepancy(shared[a], shared[b], self.options.cmd_moments) for a, b in pairs),
            zero,
        ) / max(len(pairs), 1)
        difference = sum((soft_orthogonality(shared[m], private[m]) for m in self.modalities), zero)
        difference = difference + sum((soft_orthogonality(private[a], private[b]) for a, b in pairs), zero)
        reconstruction = sum(
            (
                F.mse_loss(self.reconstruct[m](shared[m] + private[m]), utterance[m].detach())
                for m in self.modalities
            ),
            zero,
        ) / len(self.modalities)
        tokens = torch.stack(
            [private[m] for m in self.modalities] + [shared[m] for m in self.modalities], dim=1
        )  # (B, 2M, d)
        fused = self.fusion(tokens).flatten(1)  # (B, 2M*d)
        terms: dict[str, WeightedTerm] = {
            "misa_similarity": WeightedTerm(similarity, self.options.similarity_weight),
            "misa_difference": WeightedTerm(difference, self.options.difference_weight),
            "misa_reconstruction": WeightedTerm(reconstruction, self.options.reconstruction_weight),
        }
        return ModelOutput(self.head(fused).squeeze(-1), dict(utterance), fused, terms)


def build_misa(cfg: ModelConfig, spec: DataSpec, options: MISAOptions) -> FusionModel:
    """Builds MISA on the spec's modalities."""
    if options.parity == "mmsa":
        from mifusion.models.mmsa_misa import build_mmsa_misa

        return build_mmsa_misa(cfg, spec, options)
    return MISA(ModalityEncoders(spec, cfg), options, cfg.hidden_dim, cfg.dropout)


MODELS.add(
    "misa", ModelEntry(build_misa, MISAOptions, summary="MISA: invariant/specific subspaces (Hazarika 2020)")
)
