"""MFM: Multimodal Factorization Model (Tsai et al., ICLR 2019; MMSA 2.2.1's ``mfm``).

A discriminative factor ``z_y`` (a Linear on an MFN encoder's output) and one generative factor per
modality ``z_m`` (an LSTM cell over that modality, a Linear on its last state) are mapped to ``f_y`` and
``f_m`` (two ReLU layers each); the label is regressed from ``f_y``, and each modality's sequence is
reconstructed from ``[f_y; f_m]`` by an LSTM decoder unrolled over the sequence length (its first input is
``[f_y; f_m]``, then its own previous state). Terms: ``mfm_reconstruction`` (sum over modalities of
``weight_m`` times the mean squared error over valid steps; weight 1) and ``mfm_mmd`` (the MMD between each
factor and a standard Gaussian sample, summed; weight ``mmd_weight``).

Corrections of MMSA's behaviour (tested against them with unpadded batches, where both agree): every state
is read at the true last step, and the reconstruction error averages over valid steps only (MMSA includes
the padding). Token text is reconstructed as the text encoder's (detached) token states. Needs word-aligned
data with more than one modality; runs on any modality subset.

Penalty taps: unimodal = the generative factors ``z_m``, fused = the discriminative factor ``z_y``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from mifusion.config import ModelConfig
from mifusion.data.batch import MultimodalBatch
from mifusion.data.spec import DataSpec
from mifusion.encoders.pooling import last_valid
from mifusion.models.base import MODELS, FusionModel, ModelEntry, ModelOutput
from mifusion.models.common import ModalityEncoders, frame_dims, zero_absent
from mifusion.models.memory_fusion import aligned_inputs
from mifusion.models.mfn import MFNEncoder, MFNOptions
from mifusion.objectives import WeightedTerm


@dataclass(frozen=True)
class MFMOptions(MFNOptions):
    """MFM sizes and weights (MMSA's MOSI values: z_y 80, z_text 64, z_audio/vision 80, f_y 64, f_text 32,
    f_audio 16, f_vision 64, MMD weight 100, reconstruction weights text 0.5, audio 0.01, vision 0.5) on top
    of the MFN encoder's options."""

    zy_dim: int = 16
    z_dim: int = 16
    fy_dim: int = 16
    f_dim: int = 8
    mmd_weight: float = 100.0
    text_reconstruction: float = 0.5
    audio_reconstruction: float = 0.01
    vision_reconstruction: float = 0.5


def gaussian_kernel(x: Tensor, y: Tensor) -> Tensor:
    """(N, M) ``exp(-mean_d (x_i - y_j)^2 / D)`` for x (N, D), y (M, D)."""
    return torch.exp(-(x.unsqueeze(1) - y.unsqueeze(0)).pow(2).mean(-1) / x.shape[1])


def mmd_to_gaussian(z: Tensor) -> Tensor:
    """MMD between the rows of ``z`` (B, D) and as many standard Gaussian draws (the global RNG)."""
    prior = torch.randn(z.shape, dtype=z.dtype, device=z.device)
    return (
        gaussian_kernel(prior, prior).mean()
        + gaussian_kernel(z, z).mean()
        - 2 * gaussian_kernel(prior, z).mean()
    )


def two_relu_layers(a: int, b: int, dropout: float) -> nn.Sequential:
    """Linear, ReLU, dropout, Linear, ReLU."""
    return nn.Sequential(nn.Linear(a, b), nn.ReLU(), nn.Dropout(dropout), nn.Linear(b, b), nn.ReLU())


class FactorDecoder(nn.Module):
    """An LSTM cell unrolled for T steps from a factor (first input), then its own state; Linear to frames."""

    def __init__(self, factor_dim: int, output_dim: int) -> None:
        super().__init__()
        self.cell = nn.LSTMCell(factor_dim, factor_dim)
        self.out = nn.Linear(factor_dim, output_dim)

    def forward(self, factor: Tensor, steps: int) -> Tensor:
        """(B, F), T -> (B, T, output_dim)."""
        h, c = torch.zeros_like(factor), torch.zeros_like(factor)
        states, x = [], factor
        for _ in range(steps):
            h, c = self.cell(x, (h, c))
            states.append(h)
            x = h
        return self.out(torch.stack(states, dim=1))


class MFM(FusionModel):
    """Multimodal Factorization Model.

    Example:
        >>> from mifusion.models.testing import tiny_spec, tiny_batch
        >>> spec = tiny_spec(aligned=True)
        >>> out = build_mfm(ModelConfig(name="mfm"), spec, MFMOptions())(tiny_batch(spec, 2))
        >>> sorted(out.terms)
        ['mfm_mmd', 'mfm_reconstruction']
    """

    def __init__(self, spec: DataSpec, text: ModalityEncoders | None, options: MFMOptions, dropout: float):
        super().__init__()
        self.modalities = spec.modalities
        self.text = text
        self.text_encoder = text.text_encoder if text is not None else None
        dims = frame_dims(spec, text)
        self.mfn = MFNEncoder(dims, options, dropout)
        self.to_zy = nn.Linear(self.mfn.output_dim, options.zy_dim)
        self.cells = nn.ModuleDict({m: nn.LSTMCell(dims[m], options.z_dim) for m in self.modalities})
        self.to_z = nn.ModuleDict({m: nn.Linear(options.z_dim, options.z_dim) for m in self.modalities})
        self.to_fy = two_relu_layers(options.zy_dim, options.fy_dim, dropout)
        self.to_f = nn.ModuleDict(
            {m: two_relu_layers(options.z_dim, options.f_dim, dropout) for m in self.modalities}
        )
        self.decoders = nn.ModuleDict(
            {m: FactorDecoder(options.fy_dim + options.f_dim, dims[m]) for m in self.modalities}
        )
        self.head = nn.Sequential(
            nn.Linear(options.fy_dim, options.fy_dim),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(options.fy_dim, 1),
        )
        weights = {
            "text": options.text_reconstruction,
            "audio": options.audio_reconstruction,
            "vision": options.vision_reconstruction,
        }
        self.reconstruction_weights = {m: weights[m] for m in self.modalities}
        self.mmd_weight = options.mmd_weight
        self.z_dim = options.z_dim
        self.unimodal_dims = dict.fromkeys(self.modalities, options.z_dim)
        self.fused_dim = options.zy_dim

    def encode(self, x: Tensor, lengths: Tensor, m: str) -> Tensor:
        """The generative factor z_m (B, z_dim) of one aligned sequence (B, T, D_m)."""
        h = x.new_zeros(x.shape[0], self.z_dim)
        c, states = torch.zeros_like(h), []
        for t in range(x.shape[1]):
            h, c = self.cells[m](x[:, t], (h, c))
            states.append(h)
        return self.to_z[m](last_valid(torch.stack(states, dim=1), lengths))

    def forward(self, batch: MultimodalBatch) -> ModelOutput:
        """Batch -> prediction (B,), unimodal z_m (B, z_dim), fused z_y (B, zy_dim), two terms."""
        dtype = next(self.mfn.parameters()).dtype
        inputs, lengths = aligned_inputs(batch, self.modalities, self.text, dtype)
        z = {m: self.encode(inputs[m], lengths, m) for m in self.modalities}
        zy = self.to_zy(self.mfn(inputs, lengths)[1])
        mmd = zy.new_zeros(())
        for factor in [*(z[m] for m in self.modalities), zy]:  # MMSA's draw order: z_m in order, then z_y
            mmd = mmd + mmd_to_gaussian(factor)
        fy = self.to_fy(zy)
        steps = next(iter(inputs.values())).shape[1]
        valid = (
            (torch.arange(steps, device=lengths.device)[None, :] < lengths[:, None]).to(dtype).unsqueeze(-1)
        )
        reconstruction = zy.new_zeros(())
        for m in self.modalities:
            rebuilt = self.decoders[m](torch.cat([fy, self.to_f[m](z[m])], dim=-1), steps)  # (B, T, D_m)
            target = inputs[m].detach() if m == "text" and self.text is not None else inputs[m]
            error = ((rebuilt - target) ** 2 * valid).sum() / (valid.sum() * target.shape[-1]).clamp_min(1.0)
            reconstruction = reconstruction + self.reconstruction_weights[m] * error
        terms = {
            "mfm_reconstruction": WeightedTerm(reconstruction, 1.0),
            "mfm_mmd": WeightedTerm(mmd, self.mmd_weight),
        }
        unimodal = {m: zero_absent(batch, m, z[m]) for m in self.modalities}
        return ModelOutput(self.head(fy).squeeze(-1), unimodal, zy, terms)


def build_mfm(cfg: ModelConfig, spec: DataSpec, options: MFMOptions) -> MFM:
    """Builds MFM on the spec's modalities (aligned data needed for more than one modality)."""
    text = ModalityEncoders(spec, cfg, ("text",)) if spec.text_kind == "tokens" else None
    return MFM(spec, text, options, cfg.dropout)


MODELS.add(
    "mfm",
    ModelEntry(
        build_mfm, MFMOptions, needs_aligned=True, summary="MFM: multimodal factorization (Tsai 2019)"
    ),
)
