"""MMSA-parity variants of TFN, LMF and LF-DNN (``model.options.parity: mmsa``).

MMSA 2.2.1 (Mao et al., ACL 2022 demo; github.com/thuiar/MMSA) builds these three models from the same
pre-fusion subnetworks, which differ from mifusion's default encoders:

- audio and vision: the frames are averaged over time *before* the model (MMSA's data loader,
  ``need_normalized``), then BatchNorm1d, dropout and three Linear+ReLU layers (MMSA's ``SubNet``);
- text: precomputed per-token features read by a one-layer LSTM whose final hidden state goes through
  dropout and one Linear layer (MMSA's ``TextSubNet``);
- fusion in the order audio, vision, text; TFN and LF-DNN then apply dropout and three Linear layers (ReLU
  between); TFN squashes the output into the label range with a sigmoid; LMF regresses the low-rank fusion
  itself (no post-fusion layers).

Two differences from MMSA are deliberate and documented as MMSA bugs (the differential tests in
``tests/models/mmsa_parity`` check the corrected behaviour):

- MMSA's loader averages audio and vision over *all* padded frames (padding zeros included); here the mean
  runs over the valid frames only.
- MMSA's ``TextSubNet`` runs its LSTM over the padding and reads the state after the last padded step; here
  the state is read at each sample's true last token (as ``pack_padded_sequence`` would).

All three need precomputed text features (MMSA has no token-text variant of them); any modality subset works.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mifusion.data.batch import MultimodalBatch
from mifusion.data.spec import DataSpec
from mifusion.encoders.pooling import masked_mean
from mifusion.encoders.sequence import RecurrentEncoder
from mifusion.errors import ConfigError
from mifusion.fusions.low_rank import LowRankFusion
from mifusion.fusions.tensor import tensor_fusion
from mifusion.models.base import FusionModel, ModelOutput
from mifusion.models.common import ModalityEncoders, frame_dims, zero_absent

MMSA_ORDER = ("audio", "vision", "text")
"""The order in which MMSA concatenates or multiplies the unimodal vectors."""


class AveragedFramesSubNet(nn.Module):
    """The valid-frame mean of a sequence, BatchNorm1d, dropout, then three Linear+ReLU layers.

    A training batch of one sample is normalised with the running statistics (MMSA's raises an error).

    Example:
        >>> net = AveragedFramesSubNet(5, 4, 0.0)
        >>> net(torch.randn(3, 7, 5), torch.tensor([7, 2, 1])).shape
        torch.Size([3, 4])
    """

    def __init__(self, input_dim: int, hidden_dim: int, dropout: float) -> None:
        super().__init__()
        self.norm = nn.BatchNorm1d(input_dim)
        self.drop = nn.Dropout(dropout)
        self.layers = nn.Sequential(
            nn.Linear(input_dim, hidden_dim), nn.ReLU(),
            nn.Linear(hidden_dim, hidden_dim), nn.ReLU(),
            nn.Linear(hidden_dim, hidden_dim), nn.ReLU(),
        )  # fmt: skip

    def forward(self, x: Tensor, lengths: Tensor) -> Tensor:
        """(B, T, D_in) frames with true ``lengths`` (B,) -> (B, hidden_dim)."""
        mask = torch.arange(x.shape[1], device=x.device)[None, :] < lengths.to(x.device)[:, None]
        mean = masked_mean(x, mask)  # (B, D_in)
        if self.training and mean.shape[0] == 1:  # one sample has no batch statistics: use the running ones
            n = self.norm
            normed = F.batch_norm(mean, n.running_mean, n.running_var, n.weight, n.bias, False, 0.0, n.eps)
        else:
            normed = self.norm(mean)
        return self.layers(self.drop(normed))


class LastStateTextSubNet(nn.Module):
    """A one-layer LSTM over per-token features, its state at the true last token, dropout and a Linear.

    Example:
        >>> net = LastStateTextSubNet(6, 8, 3, 0.0)
        >>> net(torch.randn(2, 5, 6), torch.tensor([5, 3])).shape
        torch.Size([2, 3])
    """

    def __init__(self, input_dim: int, hidden_dim: int, output_dim: int, dropout: float) -> None:
        super().__init__()
        self.rnn = RecurrentEncoder(input_dim, hidden_dim)
        self.drop = nn.Dropout(dropout)
        self.linear = nn.Linear(hidden_dim, output_dim)

    def forward(self, x: Tensor, lengths: Tensor) -> Tensor:
        """(B, T, D_in) token features with true ``lengths`` (B,) -> (B, output_dim)."""
        return self.linear(self.drop(self.rnn(x, lengths).pooled))


def post_fusion_head(fused_dim: int, hidden_dim: int, dropout: float) -> nn.Sequential:
    """MMSA's post-fusion layers: dropout, Linear, ReLU, Linear, ReLU, Linear to one output."""
    return nn.Sequential(
        nn.Dropout(dropout), nn.Linear(fused_dim, hidden_dim), nn.ReLU(),
        nn.Linear(hidden_dim, hidden_dim), nn.ReLU(), nn.Linear(hidden_dim, 1),
    )  # fmt: skip


class MMSAClassic(FusionModel):
    """TFN, LMF or LF-DNN exactly as MMSA 2.2.1 builds them (up to the two corrections in the module doc).

    Args:
        spec: the data spec (text must be precomputed features).
        fusion: "tensor" (TFN), "low_rank" (LMF) or "concat" (LF-DNN).
        unimodal_dims: modality -> size of its subnetwork's output.
        text_hidden: width of the text LSTM.
        post_fusion_dim: width of the post-fusion layers (TFN, LF-DNN).
        rank: rank of the low-rank fusion (LMF).
        dropout: every dropout probability.
        squash: TFN's sigmoid into ``spec.label_range``.
    """

    def __init__(
        self,
        spec: DataSpec,
        fusion: Literal["tensor", "low_rank", "concat"],
        unimodal_dims: dict[str, int],
        text_hidden: int,
        post_fusion_dim: int,
        rank: int,
        dropout: float,
        squash: bool,
        text: ModalityEncoders | None = None,
    ) -> None:
        super().__init__()
        self.modalities = spec.modalities
        self.text = text
        self.text_encoder = text.text_encoder if text is not None else None
        input_dims = frame_dims(spec, text)
        self.order: Sequence[str] = [m for m in MMSA_ORDER if m in spec.modalities]
        self.subnets = nn.ModuleDict()
        for m in self.modalities:
            if m == "text":
                self.subnets[m] = LastStateTextSubNet(
                    input_dims["text"], text_hidden, unimodal_dims[m], dropout
                )
            else:
                self.subnets[m] = AveragedFramesSubNet(input_dims[m], unimodal_dims[m], dropout)
        self.unimodal_dims = {m: unimodal_dims[m] for m in self.modalities}
        self.fusion_kind = fusion
        self.low_rank: LowRankFusion | None = None
        self.head: nn.Module
        if fusion == "low_rank":
            self.low_rank = LowRankFusion({m: unimodal_dims[m] for m in self.order}, 1, rank)
            self.head, self.fused_dim = nn.Identity(), 1
        else:
            sizes = [unimodal_dims[m] + (fusion == "tensor") for m in self.order]
            self.fused_dim = (
                int(torch.tensor(sizes).prod()) if fusion == "tensor" else sum(unimodal_dims.values())
            )
            self.head = post_fusion_head(self.fused_dim, post_fusion_dim, dropout)
        self.squash = squash
        self.low, self.high = spec.label_range

    def forward(self, batch: MultimodalBatch) -> ModelOutput:
        """Batch -> prediction (B,), unimodal (B, U_m), fused (B, fused_dim)."""
        unimodal: dict[str, Tensor] = {}
        dtype = next(self.subnets.parameters()).dtype
        for m in self.modalities:
            if m == "text" and self.text is not None:
                encoded = self.text.encode(batch, "text")  # token states (B, L, H)
                x, lengths = encoded.states.to(dtype), encoded.mask.sum(dim=1)
            elif m in batch.sequences:
                x, lengths = batch.sequences[m].to(dtype), batch.lengths[m]
            else:
                raise ConfigError(f"{self.fusion_kind} fusion needs {m} frames but the batch has none")
            unimodal[m] = zero_absent(batch, m, self.subnets[m](x, lengths))
        vectors = [unimodal[m] for m in self.order]
        if self.low_rank is not None:
            fused = self.low_rank({m: unimodal[m] for m in self.order})  # (B, 1)
            output = fused
        else:
            fused = tensor_fusion(vectors) if self.fusion_kind == "tensor" else torch.cat(vectors, dim=-1)
            output = self.head(fused)  # (B, 1)
        if self.squash:
            output = torch.sigmoid(output) * (self.high - self.low) + self.low
        return ModelOutput(output.squeeze(-1), unimodal, fused)


def check_parity_spec(name: str, spec: DataSpec) -> None:
    """Raises ConfigError when MMSA parity cannot be built on ``spec`` (token text)."""
    if "text" in spec.modalities and spec.text_kind != "features":
        raise ConfigError(
            f"model {name} with options.parity=mmsa reads precomputed text features (as MMSA does) but the "
            "data's text is token ids; use feature text (e.g. a pickle's text features) or parity: none"
        )


def build_mmsa_classic(
    name: str,
    spec: DataSpec,
    fusion: Literal["tensor", "low_rank", "concat"],
    unimodal_dim: int,
    text_dims: tuple[int, int],
    post_fusion_dim: int,
    dropout: float,
    rank: int = 1,
) -> MMSAClassic:
    """The MMSA-parity model ``name``; ``text_dims`` is (LSTM width, text subnetwork output)."""
    check_parity_spec(name, spec)
    dims = {m: (text_dims[1] if m == "text" else unimodal_dim) for m in spec.modalities}
    return MMSAClassic(
        spec, fusion, dims, text_dims[0], post_fusion_dim, rank, dropout, squash=fusion == "tensor"
    )
