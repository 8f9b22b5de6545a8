"""EF-LSTM: early fusion LSTM over word-aligned features (REFERENCE 1.3; MMSA's EF_LSTM baseline).

Each modality's frame features are linearly projected per time step, the projections are concatenated per
step and one LSTM reads the fused sequence; the head reads its state at the true last step (or the poolings
in ``options.pooling``; ``model.sequence.init`` initialises the LSTM). Needs aligned
data (one time axis) when more than one modality is used. Token text enters as the text encoder's
per-token states.

Penalty tap: EF-LSTM has no per-modality vector before fusion; its ``unimodal`` entries are the nearest
equivalent, each modality's per-step projection averaged over its valid steps (B, proj_dim).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mifusion.config import ModelConfig
from mifusion.data.batch import MultimodalBatch
from mifusion.data.spec import DataSpec
from mifusion.encoders.pooling import masked_mean
from mifusion.encoders.sequence import RecurrentEncoder, StatePooling, xavier_init
from mifusion.errors import ConfigError
from mifusion.models.base import MODELS, FusionModel, ModelEntry, ModelOutput
from mifusion.models.common import ModalityEncoders, frame_dims, mlp, zero_absent


@dataclass(frozen=True)
class EFLSTMOptions:
    """EF-LSTM options: per-modality step projection size, LSTM width and how the head pools its states.

    ``parity: mmsa`` builds MMSA 2.2.1's EF_LSTM instead (``mmsa_ef_lstm.py``: raw features, a BatchNorm
    over ``steps`` time steps, model.sequence.num_layers LSTM layers of width lstm_dim; proj_dim and
    bidirectional are unused).

    Attributes:
        pooling: names from :data:`~mifusion.encoders.sequence.POOLINGS`, concatenated; empty = the
            LSTM's state at the true last step (the original EF-LSTM).
    """

    proj_dim: int = 16
    lstm_dim: int = 32
    bidirectional: bool = False
    pooling: tuple[str, ...] = ()
    parity: Literal["none", "mmsa"] = "none"
    steps: int = 50


class EFLSTM(FusionModel):
    """Early-fusion LSTM.

    Example:
        >>> from mifusion.models.testing import tiny_spec, tiny_batch
        >>> spec = tiny_spec(aligned=True)
        >>> model = build_ef_lstm(ModelConfig(name="ef_lstm"), spec, EFLSTMOptions(4, 6))
        >>> model(tiny_batch(spec, 2)).unimodal["audio"].shape
        torch.Size([2, 4])
    """

    def __init__(
        self,
        spec: DataSpec,
        text: ModalityEncoders | None,
        options: EFLSTMOptions,
        hidden_dim: int,
        dropout: float,
    ) -> None:
        super().__init__()
        self.modalities = spec.modalities
        self.text = text
        self.text_encoder = text.text_encoder if text is not None else None
        dims = frame_dims(spec, text)
        self.project = nn.ModuleDict({m: nn.Linear(dims[m], options.proj_dim) for m in self.modalities})
        self.lstm = RecurrentEncoder(
            options.proj_dim * len(self.modalities), options.lstm_dim, bidirectional=options.bidirectional
        )
        self.pool = StatePooling(self.lstm.output_dim, options.pooling, core_last=True)
        self.head = mlp([self.pool.output_dim, hidden_dim, 1], dropout)
        self.unimodal_dims = dict.fromkeys(self.modalities, options.proj_dim)
        self.fused_dim = self.pool.output_dim

    def forward(self, batch: MultimodalBatch) -> ModelOutput:
        """Batch -> prediction (B,), unimodal (B, proj_dim) per modality, fused (B, lstm width)."""
        steps, masks = {}, {}
        for m in self.modalities:
            if m == "text" and self.text is not None:
                encoded = self.text.encode(batch, "text")
                x, mask = encoded.states, encoded.mask
            else:
                x, mask = batch.sequences[m], batch.masks[m] & batch.present[m].unsqueeze(-1)
            steps[m] = self.project[m](x) * mask.unsqueeze(-1).to(x.dtype)  # (B, T_m, P)
            masks[m] = mask
        longest = max(s.shape[1] for s in steps.values())
        padded = [F.pad(steps[m], (0, 0, 0, longest - steps[m].shape[1])) for m in self.modalities]
        lengths = torch.stack([masks[m].sum(dim=1) for m in self.modalities]).amax(dim=0)  # (B,)
        encoded_all = self.lstm(torch.cat(padded, dim=-1), lengths)  # fused sequence (B, T, M*P)
        unimodal: dict[str, Tensor] = {
            m: zero_absent(batch, m, masked_mean(steps[m], masks[m])) for m in self.modalities
        }
        fused = self.pool(encoded_all, lengths)  # (B, fused_dim)
        return ModelOutput(self.head(fused).squeeze(-1), unimodal, fused)


def build_ef_lstm(cfg: ModelConfig, spec: DataSpec, options: EFLSTMOptions) -> FusionModel:
    """Builds EF-LSTM on the spec's modalities (aligned data needed for more than one modality)."""
    if options.parity == "mmsa":
        from mifusion.models.mmsa_ef_lstm import build_mmsa_ef_lstm

        return build_mmsa_ef_lstm(spec, options.steps, options.lstm_dim, cfg.sequence.num_layers, cfg.dropout)
    text = ModalityEncoders(spec, cfg, ("text",)) if spec.text_kind == "tokens" else None
    try:
        model = EFLSTM(spec, text, options, cfg.hidden_dim, cfg.dropout)
    except ValueError as err:
        raise ConfigError(f"model.options.pooling: {err}") from None
    if cfg.sequence.init == "xavier":
        xavier_init(model.lstm)
        xavier_init(model.project)
    return model


MODELS.add(
    "ef_lstm",
    ModelEntry(
        build_ef_lstm,
        EFLSTMOptions,
        needs_aligned=True,
        summary="EF-LSTM: per-step concatenation, one LSTM (needs aligned data)",
    ),
)
