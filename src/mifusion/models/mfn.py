"""MFN: Memory Fusion Network (Zadeh et al., AAAI 2018; MMSA 2.2.1's ``mfn``).

The delta module is the Delta-memory Attention Network: the cells' previous and new memories
``c* = [c_{t-1}; c_t]`` (every modality, in the fixed order) are reweighted by a softmax attention computed
from themselves, and the result feeds the gated memory (``memory_fusion.py``). Needs word-aligned data with
more than one modality; runs on any modality subset.

Penalty taps: unimodal = each modality's last LSTM hidden state, fused = ``[h_text; h_audio; h_vision; u]``
(the head's input).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mifusion.config import ModelConfig
from mifusion.data.batch import MultimodalBatch
from mifusion.data.spec import DataSpec
from mifusion.models.base import MODELS, FusionModel, ModelEntry, ModelOutput
from mifusion.models.common import ModalityEncoders, frame_dims, zero_absent
from mifusion.models.memory_fusion import GatedMemory, LockstepCells, aligned_inputs, hidden_mlp, read_last


@dataclass(frozen=True)
class MFNOptions:
    """MFN sizes (MMSA's MOSI values are text/audio/vision 256/32/256, memory 400, attention 32, candidate
    64, gammas 256/32, output 128)."""

    text_hidden: int = 32
    audio_hidden: int = 8
    vision_hidden: int = 16
    memory_dim: int = 32
    attention_hidden: int = 32
    candidate_hidden: int = 32
    gamma1_hidden: int = 32
    gamma2_hidden: int = 32
    output_hidden: int = 64


def modality_hidden(options: MFNOptions, modalities: tuple[str, ...]) -> dict[str, int]:
    """The LSTM width of each used modality."""
    sizes = {"text": options.text_hidden, "audio": options.audio_hidden, "vision": options.vision_hidden}
    return {m: sizes[m] for m in modalities}


class MFNEncoder(nn.Module):
    """The MFN without its head: lockstep cells, delta-memory attention and the gated memory.

    Returns each modality's last hidden state and ``[h_text; h_audio; h_vision; u]`` (MMSA's ``L``).
    """

    def __init__(self, input_dims: dict[str, int], options: MFNOptions, dropout: float) -> None:
        super().__init__()
        self.modalities = tuple(input_dims)
        hidden = modality_hidden(options, self.modalities)
        self.cells = LockstepCells(input_dims, hidden)
        total = sum(hidden.values())
        self.attention = hidden_mlp((2 * total, options.attention_hidden, 2 * total), dropout)
        gates = (options.candidate_hidden, options.gamma1_hidden, options.gamma2_hidden)
        self.memory = GatedMemory(2 * total, options.memory_dim, gates, dropout)
        self.hidden_dims = hidden
        self.output_dim = total + options.memory_dim

    def forward(self, inputs: dict[str, Tensor], lengths: Tensor) -> tuple[dict[str, Tensor], Tensor]:
        """inputs m -> (B, T, D_m) aligned, lengths (B,) -> (m -> (B, hidden_m), (B, output_dim))."""
        first = next(iter(inputs.values()))
        state = self.cells.initial(first.shape[0], first)
        memory = first.new_zeros(first.shape[0], self.memory.memory_dim)
        history: dict[str, list[Tensor]] = {m: [] for m in [*self.modalities, "memory"]}
        for t in range(first.shape[1]):
            new = self.cells.step({m: x[:, t] for m, x in inputs.items()}, state)
            memories = torch.cat(
                [state[m][1] for m in self.modalities] + [new[m][1] for m in self.modalities], -1
            )
            attended = F.softmax(self.attention(memories), dim=-1) * memories  # (B, 2 * total)
            memory = self.memory(attended, memory)
            state = new
            for m in self.modalities:
                history[m].append(state[m][0])
            history["memory"].append(memory)
        last = {key: read_last(values, lengths) for key, values in history.items()}
        fused = torch.cat([last[m] for m in self.modalities] + [last["memory"]], dim=-1)
        return {m: last[m] for m in self.modalities}, fused


class MFN(FusionModel):
    """Memory Fusion Network.

    Example:
        >>> from mifusion.models.testing import tiny_spec, tiny_batch
        >>> spec = tiny_spec(aligned=True)
        >>> model = build_mfn(ModelConfig(name="mfn"), spec, MFNOptions(4, 4, 4, 6, 5, 5, 5, 5, 5))
        >>> model(tiny_batch(spec, 2)).fused.shape
        torch.Size([2, 18])
    """

    def __init__(
        self, spec: DataSpec, text: ModalityEncoders | None, options: MFNOptions, dropout: float
    ) -> None:
        super().__init__()
        self.modalities = spec.modalities
        self.text = text
        self.text_encoder = text.text_encoder if text is not None else None
        self.encoder = MFNEncoder(frame_dims(spec, text), options, dropout)
        self.head = hidden_mlp((self.encoder.output_dim, options.output_hidden, 1), dropout)
        self.unimodal_dims = dict(self.encoder.hidden_dims)
        self.fused_dim = self.encoder.output_dim

    def forward(self, batch: MultimodalBatch) -> ModelOutput:
        """Batch -> prediction (B,), unimodal (B, hidden_m) last hidden states, fused (B, sum hidden + memory)."""
        dtype = next(self.encoder.parameters()).dtype
        inputs, lengths = aligned_inputs(batch, self.modalities, self.text, dtype)
        last, fused = self.encoder(inputs, lengths)
        unimodal = {m: zero_absent(batch, m, last[m]) for m in self.modalities}
        return ModelOutput(self.head(fused).squeeze(-1), unimodal, fused)


def build_mfn(cfg: ModelConfig, spec: DataSpec, options: MFNOptions) -> MFN:
    """Builds MFN on the spec's modalities (aligned data needed for more than one modality)."""
    text = ModalityEncoders(spec, cfg, ("text",)) if spec.text_kind == "tokens" else None
    return MFN(spec, text, options, cfg.dropout)


MODELS.add(
    "mfn",
    ModelEntry(
        build_mfn,
        MFNOptions,
        needs_aligned=True,
        summary="MFN: memory fusion network (Zadeh 2018; needs aligned)",
    ),
)
