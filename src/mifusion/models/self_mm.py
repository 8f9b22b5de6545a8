"""Self-MM: self-supervised multi-task learning (Yu et al., AAAI 2021; MMSA 2.2.1's ``self_mm``).

Text is the text encoder's [CLS] state; audio and vision are an LSTM over their own lengths and a Linear.
The fused branch (concatenation, dropout, Linear+ReLU = the fused feature, Linear+ReLU, Linear) regresses
the multimodal label; each modality's branch (dropout, Linear+ReLU = its feature, Linear+ReLU, Linear)
regresses a label generated without supervision by the ULGM (``self_mm_labels.py``), weighted per sample by
``tanh(|y_m - y_f|)``. Terms: ``<modality>_task`` (weight 1 each, as in MMSA). The ULGM updates after every
training forward (``model.training``), keyed by sample id, using the trainer's epoch (``set_epoch``);
evaluation forwards only look labels up (unseen samples use their multimodal label).
Runs on any modality subset (one modality: the fused branch reads it alone).

Penalty taps: unimodal = each branch's feature (what the ULGM compares), fused = the fused feature.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
from torch import Tensor, nn

from mifusion.config import ModelConfig, SequenceEncoderConfig
from mifusion.data.batch import MultimodalBatch
from mifusion.data.spec import DataSpec
from mifusion.models.base import MODELS, FusionModel, ModelEntry, ModelOutput
from mifusion.models.common import ModalityEncoders, zero_absent
from mifusion.models.self_mm_labels import UnimodalLabelMemory
from mifusion.objectives import WeightedTerm


@dataclass(frozen=True)
class SelfMMOptions:
    """Self-MM sizes (MMSA's MOSI values: audio LSTM 16 -> 16, vision 32 -> 32, fused 128, text 32,
    audio 16, vision 32) and the label bound H (3 on MOSI/MOSEI, 1 on SIMS)."""

    audio_hidden: int = 16
    audio_out: int = 16
    vision_hidden: int = 32
    vision_out: int = 32
    fusion_dim: int = 128
    text_dim: int = 32
    audio_dim: int = 16
    vision_dim: int = 32
    label_bound: float = 3.0


def branch(input_dim: int, width: int, dropout: float) -> tuple[nn.Sequential, nn.Sequential]:
    """(feature: dropout, Linear, ReLU; head: Linear, ReLU, Linear to one output)."""
    feature = nn.Sequential(nn.Dropout(dropout), nn.Linear(input_dim, width), nn.ReLU())
    return feature, nn.Sequential(nn.Linear(width, width), nn.ReLU(), nn.Linear(width, 1))


class SelfMM(FusionModel):
    """Self-MM.

    Example:
        >>> from mifusion.models.testing import tiny_spec, tiny_batch
        >>> model = build_self_mm(ModelConfig(name="self_mm"), tiny_spec(), SelfMMOptions())
        >>> sorted(model(tiny_batch(tiny_spec(), 4)).terms)
        ['audio_task', 'text_task', 'vision_task']
    """

    def __init__(self, encoders: dict[str, ModalityEncoders], options: SelfMMOptions, dropout: float) -> None:
        super().__init__()
        self.modalities = tuple(encoders)
        self.encoders = nn.ModuleDict(encoders)
        self.text_encoder = encoders["text"].text_encoder if "text" in encoders else None
        widths = {"text": options.text_dim, "audio": options.audio_dim, "vision": options.vision_dim}
        dims = {m: e.output_dims[m] for m, e in encoders.items()}
        self.features, self.heads = nn.ModuleDict(), nn.ModuleDict()
        for m in ["fusion", *self.modalities]:
            size = sum(dims.values()) if m == "fusion" else dims[m]
            self.features[m], self.heads[m] = branch(
                size, options.fusion_dim if m == "fusion" else widths[m], dropout
            )
        self.unimodal_dims = {m: widths[m] for m in self.modalities}
        self.fused_dim = options.fusion_dim
        self.memory = UnimodalLabelMemory(
            {"fusion": options.fusion_dim, **self.unimodal_dims}, options.label_bound
        )
        self.epoch = 1  # 1-based, as MMSA counts

    def set_epoch(self, epoch: int) -> None:
        """The trainer's 0-based epoch (label generation starts in the second)."""
        self.epoch = epoch + 1

    def forward(self, batch: MultimodalBatch) -> ModelOutput:
        """Batch -> prediction (B,), unimodal features (B, width_m), fused feature (B, fusion_dim), terms."""
        pooled = {}
        for m in self.modalities:
            encoder = self.encoders[m]
            assert isinstance(encoder, ModalityEncoders)
            pooled[m] = encoder.encode(batch, m).pooled
        features = {
            "fusion": self.features["fusion"](torch.cat([pooled[m] for m in self.modalities], dim=-1))
        }
        features.update({m: self.features[m](pooled[m]) for m in self.modalities})
        return self_mm_output(
            self.heads, self.memory, batch, features, self.modalities, self.training, self.epoch
        )


def self_mm_output(
    heads: nn.ModuleDict,
    memory: UnimodalLabelMemory,
    batch: MultimodalBatch,
    features: dict[str, Tensor],
    modalities: tuple[str, ...],
    training: bool,
    epoch: int,
) -> ModelOutput:
    """Self-MM's multi-task output from the fused and unimodal features (shared with TETFN).

    Each head predicts; every unimodal prediction is trained on its generated label, weighted by how far
    that label is from the fused one (tanh of the gap). Training samples enter the label memory; the others
    are only looked up.
    """
    outputs = {mode: heads[mode](f).squeeze(-1) for mode, f in features.items()}
    if training:
        rows = memory.rows(batch.ids, batch.labels)
        labels = {mode: memory.labels[mode][rows] for mode in memory.dims}
    else:
        labels = memory.lookup(batch.ids, batch.labels.cpu())
    fused_labels = labels["fusion"].to(outputs["fusion"])
    terms: dict[str, WeightedTerm] = {}
    for m in modalities:
        generated = labels[m].to(outputs[m])
        weight = torch.tanh((generated - fused_labels).abs())
        terms[f"{m}_task"] = WeightedTerm((weight * (outputs[m] - generated).abs()).mean(), 1.0)
    if training:
        memory.update(features, rows, epoch)
    unimodal = {m: zero_absent(batch, m, features[m]) for m in modalities}
    return ModelOutput(outputs["fusion"], unimodal, features["fusion"], terms)


def build_self_mm(cfg: ModelConfig, spec: DataSpec, options: SelfMMOptions) -> SelfMM:
    """Builds Self-MM: [CLS] text (model.text; feature text: model.sequence), audio/vision LSTMs sized by the
    options."""
    cfg = replace(cfg, text=replace(cfg.text, pooling="cls"))
    sizes = {
        "audio": (options.audio_hidden, options.audio_out),
        "vision": (options.vision_hidden, options.vision_out),
    }
    encoders = {}
    for m in spec.modalities:
        sequence = (
            SequenceEncoderConfig(hidden_dim=sizes[m][0], output_dim=sizes[m][1]) if m in sizes else None
        )
        encoders[m] = ModalityEncoders(spec, cfg, (m,), sequence)
    return SelfMM(encoders, options, cfg.dropout)


MODELS.add(
    "self_mm",
    ModelEntry(build_self_mm, SelfMMOptions, summary="Self-MM: self-supervised unimodal labels (Yu 2021)"),
)
