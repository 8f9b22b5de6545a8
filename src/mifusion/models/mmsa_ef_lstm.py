"""EF-LSTM as MMSA 2.2.1 builds it (``model.options.parity: mmsa`` of ``ef_lstm``).

MMSA's EF_LSTM concatenates the raw word-aligned features of text, audio and vision per step, normalises
them with a BatchNorm1d whose channels are the *time steps* (so the sequence length is fixed: option
``steps``, MMSA's ``seq_lens``, 50 on MOSI), reads them with a multi-layer LSTM (dropout between layers),
and regresses the last layer's final state through dropout, Linear, ReLU, dropout, Linear.

One MMSA behaviour is not reproduced (a bug): MMSA reads the LSTM state after the last *padded* step;
here it is read at each sample's true last step. The differential test uses unpadded sequences, where the
two agree. Needs precomputed text features (MMSA has no token-text EF_LSTM). The penalty taps are each
modality's frames averaged over its valid steps (EF-LSTM has no unimodal vector of its own).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mifusion.data.batch import MultimodalBatch
from mifusion.data.spec import DataSpec
from mifusion.encoders.pooling import masked_mean
from mifusion.encoders.sequence import RecurrentEncoder
from mifusion.errors import ConfigError, ShapeError
from mifusion.models.base import FusionModel, ModelOutput
from mifusion.models.common import zero_absent


class MMSAEFLSTM(FusionModel):
    """Early-fusion LSTM with MMSA's per-step BatchNorm (see the module docstring).

    Example:
        >>> spec = DataSpec(("text", "audio"), {"text": 3, "audio": 2}, "features", None, True)
        >>> model = MMSAEFLSTM(spec, steps=6, hidden_dim=4, num_layers=2, dropout=0.0)
        >>> from mifusion.models.testing import tiny_batch
        >>> model(tiny_batch(spec, 2, max_len=6)).prediction.shape
        torch.Size([2])
    """

    def __init__(self, spec: DataSpec, steps: int, hidden_dim: int, num_layers: int, dropout: float) -> None:
        super().__init__()
        self.modalities = spec.modalities
        self.steps = steps
        self.norm = nn.BatchNorm1d(steps)
        width = sum(spec.feature_dims[m] for m in self.modalities)
        self.lstm = RecurrentEncoder(width, hidden_dim, num_layers=num_layers, dropout=dropout)
        self.head = nn.Sequential(
            nn.Dropout(dropout), nn.Linear(hidden_dim, hidden_dim), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(hidden_dim, 1),
        )  # fmt: skip
        self.unimodal_dims = {m: spec.feature_dims[m] for m in self.modalities}
        self.fused_dim = hidden_dim

    def forward(self, batch: MultimodalBatch) -> ModelOutput:
        """Batch -> prediction (B,), unimodal (B, D_m) frame means, fused (B, hidden_dim) final LSTM state."""
        dtype = self.norm.weight.dtype
        frames, unimodal, lengths = [], {}, []
        for m in self.modalities:
            x = batch.sequences[m].to(dtype)
            if x.shape[1] > self.steps:
                raise ShapeError(
                    f"{m} has {x.shape[1]} steps but EF-LSTM parity was built for {self.steps} "
                    "(model.options.steps)"
                )
            mask = batch.masks[m] & batch.present[m].unsqueeze(-1)
            frames.append(F.pad(x * mask.unsqueeze(-1).to(dtype), (0, 0, 0, self.steps - x.shape[1])))
            unimodal[m] = zero_absent(batch, m, masked_mean(x, mask))
            lengths.append(mask.sum(dim=1))
        fused_input = self.norm(torch.cat(frames, dim=-1))  # (B, steps, sum D_m), channels = steps
        length = torch.stack(lengths).amax(dim=0)  # (B,)
        fused: Tensor = self.lstm(fused_input, length).pooled
        return ModelOutput(self.head(fused).squeeze(-1), unimodal, fused)


def build_mmsa_ef_lstm(
    spec: DataSpec, steps: int, hidden_dim: int, num_layers: int, dropout: float
) -> MMSAEFLSTM:
    """The MMSA-parity EF-LSTM; refuses token text."""
    if "text" in spec.modalities and spec.text_kind != "features":
        raise ConfigError(
            "model ef_lstm with options.parity=mmsa reads precomputed text features (as MMSA does) but the "
            "data's text is token ids; use feature text or parity: none"
        )
    return MMSAEFLSTM(spec, steps, hidden_dim, num_layers, dropout)
