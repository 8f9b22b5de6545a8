"""MMIM: hierarchical mutual-information maximisation (Han, Chen, Poria, EMNLP 2021; REFERENCE 1.1).

Text [CLS] -> t; audio and vision: one-layer LSTM (hidden 16) read at the true last step -> Linear 16.
Fusion: concat -> Dropout -> Linear(., 128) -> tanh -> Linear(128, 128) -> tanh = z -> Linear(128, 1).
The objective (:class:`mifusion.estimators.mmim.MMIMObjective`) adds CPC terms from z to each modality and
Barber-Agakov bounds between modality pairs; its q-networks train on ``estimator_loss`` (or, with
``train.estimator_stage: separate_pass``, on :meth:`MMIM.estimator_pass_loss`, the reference's stage 1;
``train.estimator_pass_fraction: 0.5`` is its MOSEI half pass).

Parity: ``parity: true`` reproduces the reference code (truncated likelihood, entropy projection that is
never stepped, Xavier-normal init of every non-pretrained weight matrix, q trained in stage 1 only) and
needs ``train.estimator_stage: separate_pass``. Two named LSTM variants: ``lstm: unidirectional`` (the
official code) and ``lstm: bidirectional`` (MMSA's port). Both are checked step by step against MMSA 2.2.1
(``tests/models/test_mmim_vs_mmsa.py``).
``init`` picks the initialisation on its own: ``auto`` (the default) is Xavier-normal under parity and
PyTorch's default otherwise; ``xavier`` with the corrected objective and ``default`` with ``parity: true``
separate the reference's initialisation from its objective in ablations.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

import torch
from torch import nn

from mifusion.config import ModelConfig
from mifusion.data.batch import MultimodalBatch
from mifusion.data.spec import DataSpec
from mifusion.errors import ConfigError
from mifusion.estimators.mmim import MMIMObjective
from mifusion.estimators.mmim_options import MMIMObjectiveOptions
from mifusion.models.base import MODELS, FusionModel, ModelEntry, ModelOutput, ParamGroups
from mifusion.models.common import ModalityEncoders


@dataclass(frozen=True)
class MMIMOptions(MMIMObjectiveOptions):
    """MMIM options (defaults: REFERENCE 1.1 with the reference code's flaws fixed): the objective's
    (:class:`~mifusion.estimators.mmim.MMIMObjectiveOptions`) plus the model's own below."""

    fusion_dim: int = 128
    init: Literal["auto", "default", "xavier"] = "auto"
    lstm: Literal["config", "unidirectional", "bidirectional"] = "config"


class MMIM(FusionModel):
    """MultiModal InfoMax.

    Example:
        >>> from mifusion.models.testing import tiny_spec, tiny_batch
        >>> from mifusion.config import TextEncoderConfig
        >>> cfg = ModelConfig(text=TextEncoderConfig(hidden_size=8, intermediate_size=16))
        >>> model = build_mmim(cfg, tiny_spec(), MMIMOptions(fusion_dim=8))
        >>> out = model(tiny_batch(tiny_spec(), 4))
        >>> tuple(out.fused.shape), out.estimator_loss is not None
        ((4, 8), True)
    """

    def __init__(self, encoders: ModalityEncoders, options: MMIMOptions, dropout: float) -> None:
        super().__init__()
        self.modalities = encoders.modalities
        self.encoders = encoders
        self.text_encoder = encoders.text_encoder
        self.required_estimator_stage = "separate_pass" if options.parity else None
        self.unimodal_dims = dict(encoders.output_dims)
        self.fused_dim = options.fusion_dim
        total = sum(self.unimodal_dims.values())
        self.fusion = nn.Sequential(
            nn.Dropout(dropout),
            nn.Linear(total, options.fusion_dim),
            nn.Tanh(),
            nn.Linear(options.fusion_dim, options.fusion_dim),
            nn.Tanh(),
        )
        self.head = nn.Linear(options.fusion_dim, 1)
        pairs = tuple(p for p in options.pairs if p[0] in self.modalities and p[1] in self.modalities)
        objective_options = replace(options, pairs=pairs).for_parity()
        self.objective = MMIMObjective.from_options(self.unimodal_dims, options.fusion_dim, objective_options)
        if options.init == "xavier" or (options.init == "auto" and options.parity):
            xavier_normal_init(self, exclude=self.text_encoder)

    def forward(self, batch: MultimodalBatch) -> ModelOutput:
        """Batch -> prediction (B,), unimodal t/a/v, fused z (B, fusion_dim), CPC and BA terms."""
        encoded = self.encoders(batch)
        unimodal = {m: encoded[m].pooled for m in self.modalities}
        fused = self.fusion(torch.cat([unimodal[m] for m in self.modalities], dim=-1))  # (B, 128)
        objective = self.objective(unimodal, fused, batch.labels)
        return ModelOutput(
            self.head(fused).squeeze(-1),
            unimodal,
            fused,
            dict(objective.terms),
            objective.estimator_loss,
            dict(objective.diagnostics),
        )

    def set_epoch(self, epoch: int) -> None:
        """Called by the trainer at each epoch start: resets the entropy memories and batch index."""
        self.objective.new_epoch()

    def estimator_pass_loss(self, batch: MultimodalBatch) -> torch.Tensor:
        """The reference's stage 1: ``-sum lld`` on the live unimodal vectors (no fusion, no side effects)."""
        encoded = self.encoders(batch)
        return self.objective.stage1_loss({m: encoded[m].pooled for m in self.modalities})

    def param_groups(self) -> ParamGroups:
        """As the base class, except that the CPC predictors train with the model (stage 2), as in MMIM.

        The q(y|x) networks form the estimator group (stage 1, ``estimator_loss``); in parity the entropy
        projections join them, as in the reference, where that optimiser never steps them (they get
        gradients only in stage 2, when it does not step).
        """
        groups = super().param_groups()
        cpc = {id(p) for p in self.objective.cpc.parameters()}
        projections = {id(p) for p in self.objective.projections.parameters()}
        return ParamGroups(
            groups.text_encoder,
            [p for p in groups.main if id(p) not in projections]
            + [p for p in groups.estimator if id(p) in cpc],
            [p for p in groups.estimator if id(p) not in cpc]
            + [p for p in groups.main if id(p) in projections],
        )


def xavier_normal_init(module: nn.Module, exclude: nn.Module | None = None) -> None:
    """Xavier-normal init of every weight matrix outside ``exclude`` (the reference's init)."""
    skip = {id(p) for p in exclude.parameters()} if exclude is not None else set()
    for name, p in module.named_parameters():
        if id(p) not in skip and p.dim() >= 2 and "weight" in name.rsplit(".", 1)[-1]:
            nn.init.xavier_normal_(p)


def build_mmim(cfg: ModelConfig, spec: DataSpec, options: MMIMOptions) -> MMIM:
    """Builds MMIM on the spec's modalities (LSTM direction from ``options.lstm`` when not 'config').

    Raises:
        ConfigError: parity on token text without ``model.text.pretrained`` (the reference fine-tunes a
            pretrained BERT; a tiny random one would be a different model).
    """
    if (
        options.parity
        and spec.text_kind == "tokens"
        and "text" in spec.modalities
        and not cfg.text.pretrained
    ):
        raise ConfigError(
            "model.options.parity=true needs model.text.pretrained (a local BERT-style model directory): "
            "the reference fine-tunes a pretrained encoder, not a randomly initialised one"
        )
    sequence = cfg.sequence
    if options.lstm != "config":
        sequence = replace(sequence, bidirectional=options.lstm == "bidirectional")
    return MMIM(ModalityEncoders(spec, cfg, sequence_cfg=sequence), options, cfg.dropout)


MODELS.add(
    "mmim",
    ModelEntry(
        build_mmim,
        MMIMOptions,
        summary="MMIM: hierarchical MI maximisation, BA + CPC, two-stage (Han 2021)",
    ),
)
