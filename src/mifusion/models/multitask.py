"""What MMSA's multi-task models (MLF-DNN, MTFN, MLMF; Yu et al., ACL 2020, CH-SIMS) share.

Each is its single-task counterpart as MMSA builds it (``mmsa_classic.py``: averaged-frame audio/vision
subnetworks, an LSTM text subnetwork, concat / tensor / low-rank fusion) plus one small regression head per
modality on that modality's subnetwork output (dropout, Linear, ReLU, Linear, ReLU, Linear). Each head's L1
loss against the modality's own label (CH-SIMS's unimodal labels, which the readers load into
``batch.unimodal_labels``) enters the objective as a weighted term ``<modality>_task``.

Without unimodal labels (MOSI, MOSEI, synthetic data) each head regresses the multimodal label instead.
MMSA weights its multimodal loss too (``M``); here the multimodal task loss has weight 1, so the unimodal
weights default to MMSA's CH-SIMS values divided by its ``M`` (the same objective up to a constant factor).
The corrections of ``mmsa_classic.py`` (valid-frame means, the text state at the true last token) apply.
Token text is read by a transformers encoder whose per-token states feed the text LSTM. Any modality subset.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch.nn.functional as F
from torch import nn

from mifusion.config import ModelConfig
from mifusion.data.batch import MultimodalBatch
from mifusion.data.spec import DataSpec
from mifusion.models.base import ModelOutput
from mifusion.models.common import ModalityEncoders
from mifusion.models.mmsa_classic import MMSAClassic, post_fusion_head
from mifusion.objectives import WeightedTerm


@dataclass(frozen=True)
class MultiTaskOptions:
    """Unimodal head widths and loss weights shared by the multi-task models."""

    post_text_dim: int = 16
    post_audio_dim: int = 4
    post_vision_dim: int = 16
    text_weight: float = 1.0
    audio_weight: float = 1.0
    vision_weight: float = 1.0


class MultiTaskModel(MMSAClassic):
    """An :class:`MMSAClassic` with a regression head and a weighted L1 term per modality."""

    def __init__(
        self,
        spec: DataSpec,
        fusion: Literal["tensor", "low_rank", "concat"],
        unimodal_dims: dict[str, int],
        text_hidden: int,
        post_fusion_dim: int,
        rank: int,
        dropout: float,
        options: MultiTaskOptions,
        text: ModalityEncoders | None = None,
    ) -> None:
        super().__init__(
            spec, fusion, unimodal_dims, text_hidden, post_fusion_dim, rank, dropout, fusion == "tensor", text
        )
        widths = {
            "text": options.post_text_dim,
            "audio": options.post_audio_dim,
            "vision": options.post_vision_dim,
        }
        self.unimodal_heads = nn.ModuleDict(
            {m: post_fusion_head(unimodal_dims[m], widths[m], dropout) for m in self.modalities}
        )
        self.weights = {
            "text": options.text_weight,
            "audio": options.audio_weight,
            "vision": options.vision_weight,
        }

    def forward(self, batch: MultimodalBatch) -> ModelOutput:
        """As :class:`MMSAClassic`, plus terms ``<modality>_task`` (L1 of each unimodal head)."""
        out = super().forward(batch)
        for m in self.modalities:
            prediction = self.unimodal_heads[m](out.unimodal[m]).squeeze(-1)  # (B,)
            target = batch.unimodal_labels.get(m, batch.labels).to(prediction.dtype)
            out.terms[f"{m}_task"] = WeightedTerm(F.l1_loss(prediction, target), self.weights[m])
            out.diagnostics[f"{m}_prediction_mean"] = prediction.detach().mean()
        return out


def build_multitask(
    cfg: ModelConfig,
    spec: DataSpec,
    fusion: Literal["tensor", "low_rank", "concat"],
    unimodal_dim: int,
    text_dims: tuple[int, int],
    post_fusion_dim: int,
    dropout: float,
    options: MultiTaskOptions,
    rank: int = 1,
) -> MultiTaskModel:
    """A multi-task model; ``text_dims`` is (text LSTM width, text subnetwork output). Token text is read
    by ``cfg.text``'s encoder, whose per-token states feed the text LSTM (MMSA's BERT-feature text)."""
    text = ModalityEncoders(spec, cfg, ("text",)) if spec.text_kind == "tokens" else None
    dims = {m: (text_dims[1] if m == "text" else unimodal_dim) for m in spec.modalities}
    return MultiTaskModel(spec, fusion, dims, text_dims[0], post_fusion_dim, rank, dropout, options, text)
