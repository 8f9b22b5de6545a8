"""MCTN: Multimodal Cyclic Translation Network (Pham et al., AAAI 2019; MMSA 2.2.1's ``mctn``).

Text is the source. A bidirectional-LSTM encoder reads it (its states summed over the two directions are
the joint states); an attention decoder translates them into the first target modality (vision, else
audio), and the same encoder-decoder translates that translation back into text (the cycle). A second
encoder reads the joint states and its decoder translates them into the second target (audio). A
unidirectional LSTM with additive attention over time regresses the label from the second encoder's
states, so the prediction needs text only; the other modalities are translation targets (training signal).

Each decoder step attends over the source states with the previous decoder state, feeds
``[previous target frame; context]`` (teacher forcing, always, as MMSA does) to a one-step bidirectional
LSTM from zero state, and maps ``[summed LSTM output; context]`` to a frame. Every modality is zero-padded
to one frame width (the widest; MMSA's ``F.pad``), so one decoder serves both directions of the cycle.
Terms: ``mctn_<target>`` and ``mctn_cycle`` (mean squared error of the translated frames, weight 0.1 each).

Corrections of MMSA's behaviour (tested against MMSA run with its LSTMs on the time axis):
- MMSA hands its batch-first tensors to time-major LSTMs and attention, so every recurrence and attention
  runs over the *samples of the batch* and a prediction depends on the other samples; here every one runs
  over time, per sample, with padded steps masked (packed LSTMs, masked attention and losses).
- The decoder writes no frame for step 0 (it is given as the first input); MMSA leaves that slot zero and
  charges its squared norm to the loss (a constant without gradient); the error here averages over the
  steps it predicts (1 .. length-1). The zero slot is kept as the cycle's source input, as in MMSA.
Token text is reconstructed as the text encoder's (detached) token states.

Penalty taps: unimodal = text: the mean joint state; a target: the mean state of the decoder that
translates into it (driven by that modality's frames); fused = the regression's attended vector.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from mifusion.config import ModelConfig
from mifusion.data.batch import MultimodalBatch
from mifusion.data.spec import DataSpec
from mifusion.encoders.pooling import masked_mean, masked_softmax_weights
from mifusion.models.base import MODELS, FusionModel, ModelEntry, ModelOutput
from mifusion.models.common import ModalityEncoders, frame_dims, present_of, zero_absent
from mifusion.objectives import WeightedTerm


@dataclass(frozen=True)
class MCTNOptions:
    """MCTN sizes and weights (MMSA's MOSI values: hid_dim 32, translation weights 0.1)."""

    hid_dim: int = 32
    translation_weight: float = 0.1
    cycle_weight: float = 0.1


def run_lstm(lstm: nn.LSTM, x: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
    """Packed batch-first LSTM: states (B, T, dirs*H) zero past each length, final h (layers*dirs, B, H)."""
    lengths = mask.sum(dim=1).clamp_min(1).cpu()
    packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    out, (h, _) = lstm(packed)
    states, _ = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
    return states, h


class Encoder(nn.Module):
    """Bidirectional LSTM; states summed over directions (then dropout)."""

    def __init__(self, input_dim: int, hid_dim: int, dropout: float) -> None:
        super().__init__()
        self.rnn = nn.LSTM(input_dim, hid_dim, batch_first=True, bidirectional=True)
        self.dropout = nn.Dropout(dropout)
        self.hid_dim = hid_dim

    def forward(self, x: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        """(B, T, D), (B, T) -> joint states (B, T, H), the two final states summed (B, H)."""
        states, h = run_lstm(self.rnn, x, mask)
        joint = self.dropout(states[..., : self.hid_dim] + states[..., self.hid_dim :])
        return joint, h[-1] + h[-2]


class Decoder(nn.Module):
    """Attention decoder over an encoder's states, teacher-forced with the target's frames."""

    def __init__(self, frame_dim: int, hid_dim: int) -> None:
        super().__init__()
        self.bridge = nn.Linear(hid_dim, hid_dim, bias=False)  # the encoder's final state -> first query
        self.attn = nn.Linear(2 * hid_dim, hid_dim, bias=False)
        self.v = nn.Linear(hid_dim, 1, bias=False)
        self.rnn = nn.LSTM(frame_dim + hid_dim, hid_dim, batch_first=True, bidirectional=True)
        self.out = nn.Linear(2 * hid_dim, frame_dim)
        self.hid_dim = hid_dim

    def forward(
        self, memory: Tensor, memory_mask: Tensor, final: Tensor, target: Tensor
    ) -> tuple[Tensor, Tensor]:
        """Source states (B, S, H), their mask, final state (B, H), target (B, T, D) ->
        frames (B, T, D) (step 0 zero) and decoder states (B, T, H) (step 0 zero)."""
        s = torch.tanh(self.bridge(final))
        frames, states = [torch.zeros_like(target[:, 0])], [torch.zeros_like(s)]
        for t in range(1, target.shape[1]):
            query = s.unsqueeze(1).expand(-1, memory.shape[1], -1)
            scores = self.v(torch.tanh(self.attn(torch.cat([query, memory], dim=-1)))).squeeze(-1)
            context = (masked_softmax_weights(scores, memory_mask).unsqueeze(-1) * memory).sum(dim=1)
            out, _ = self.rnn(torch.cat([target[:, t - 1], context], dim=-1).unsqueeze(1))
            s = out[:, 0, : self.hid_dim] + out[:, 0, self.hid_dim :]
            frames.append(self.out(torch.cat([s, context], dim=-1)))
            states.append(s)
        return torch.stack(frames, dim=1), torch.stack(states, dim=1)


class Regression(nn.Module):
    """LSTM over time, additive attention over valid steps, a Linear on the attended vector."""

    def __init__(self, hid_dim: int) -> None:
        super().__init__()
        self.rnn = nn.LSTM(hid_dim, hid_dim, batch_first=True)
        self.score = nn.Linear(hid_dim, 1)
        self.out = nn.Linear(hid_dim, 1)

    def forward(self, x: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        """(B, T, H), (B, T) -> prediction (B,), attended vector (B, H)."""
        states, _ = run_lstm(self.rnn, x, mask)
        weights = masked_softmax_weights(torch.tanh(self.score(states)).squeeze(-1), mask)
        attended = (weights.unsqueeze(-1) * states).sum(dim=1)
        return self.out(attended).squeeze(-1), attended


@dataclass
class Translations:
    """MCTN's intermediate results (what its loss uses), per target modality."""

    prediction: Tensor
    attended: Tensor
    joint: Tensor  # (B, T_text, H) the first encoder's states
    frames: dict[str, Tensor] = field(default_factory=dict)  # target -> (B, T, D) translated frames
    errors: dict[str, Tensor] = field(default_factory=dict)  # target or "cycle" -> mean squared error
    taps: dict[str, Tensor] = field(default_factory=dict)


def frame_error(rebuilt: Tensor, target: Tensor, mask: Tensor) -> Tensor:
    """Mean squared error over the predicted valid steps (1 .. length-1) and every frame feature."""
    valid = mask.clone()
    valid[:, 0] = False
    weights = valid.to(rebuilt.dtype).unsqueeze(-1)
    return ((rebuilt - target) ** 2 * weights).sum() / (weights.sum() * target.shape[-1]).clamp_min(1.0)


class MCTN(FusionModel):
    """Multimodal Cyclic Translation Network.

    Example:
        >>> from mifusion.models.testing import tiny_spec, tiny_batch
        >>> spec = tiny_spec()
        >>> out = build_mctn(ModelConfig(name="mctn"), spec, MCTNOptions(hid_dim=4))(tiny_batch(spec, 2))
        >>> sorted(out.terms)
        ['mctn_audio', 'mctn_cycle', 'mctn_vision']
    """

    def __init__(self, spec: DataSpec, text: ModalityEncoders | None, options: MCTNOptions, dropout: float):
        super().__init__()
        self.modalities = spec.modalities
        self.text = text
        self.text_encoder = text.text_encoder if text is not None else None
        dims = frame_dims(spec, text)
        self.frame_dim = max(dims.values())
        self.targets = tuple(m for m in ("vision", "audio") if m in self.modalities)
        h = options.hid_dim
        self.encoders = nn.ModuleList([Encoder(self.frame_dim, h, dropout), Encoder(h, h, dropout)])
        self.decoders = nn.ModuleList([Decoder(self.frame_dim, h) for _ in self.targets])
        self.regression = Regression(h)
        self.weights = {"cycle": options.cycle_weight} | dict.fromkeys(
            self.targets, options.translation_weight
        )
        self.unimodal_dims = dict.fromkeys(self.modalities, h)
        self.fused_dim = h

    def frames(self, batch: MultimodalBatch, m: str, dtype: torch.dtype) -> tuple[Tensor, Tensor]:
        """(B, T, frame_dim) zero-padded frames of ``m`` (token text: encoder states) and the (B, T) mask."""
        if m == "text" and self.text is not None:
            encoded = self.text.encode(batch, "text")
            x, mask = encoded.states.to(dtype), encoded.mask
        else:
            x, mask = (
                batch.sequences[m].to(dtype),
                batch.masks[m] & present_of(batch, m, batch.labels)[:, None],
            )
        x = x * mask.unsqueeze(-1).to(dtype)
        return F.pad(x, (0, self.frame_dim - x.shape[-1])), mask

    def translate(self, batch: MultimodalBatch) -> Translations:
        """Runs the encoders, the decoders and the regression (see the module docstring)."""
        dtype = self.regression.out.weight.dtype
        text, text_mask = self.frames(batch, "text", dtype)
        joint, final = self.encoders[0](text, text_mask)
        taps = {"text": masked_mean(joint, text_mask)}
        frames: dict[str, Tensor] = {}
        errors: dict[str, Tensor] = {}
        source, source_final = joint, final
        for index, m in enumerate(self.targets):
            target, mask = self.frames(batch, m, dtype)
            if index == 1:  # the second target is translated from the second encoder's states
                source, source_final = self.encoders[1](joint, text_mask)
            rebuilt, states = self.decoders[index](source, text_mask, source_final, target)
            frames[m], errors[m] = rebuilt, frame_error(rebuilt, target, mask)
            taps[m] = masked_mean(states, mask)
            if index == 0:  # the cycle: the same encoder-decoder translates the translation back into text
                cycle_memory, cycle_final = self.encoders[0](rebuilt, mask)
                goal = text.detach() if self.text is not None else text
                back, _ = self.decoders[0](cycle_memory, mask, cycle_final, goal)
                frames["cycle"], errors["cycle"] = back, frame_error(back, goal, text_mask)
        if len(self.targets) < 2:
            source, _ = self.encoders[1](joint, text_mask)
        prediction, attended = self.regression(source, text_mask)
        return Translations(prediction, attended, joint, frames, errors, taps)

    def forward(self, batch: MultimodalBatch) -> ModelOutput:
        """Batch -> prediction (B,), unimodal taps (B, hid_dim), fused (B, hid_dim), translation terms."""
        result = self.translate(batch)
        terms = {f"mctn_{k}": WeightedTerm(v, self.weights[k]) for k, v in result.errors.items()}
        unimodal = {m: zero_absent(batch, m, result.taps[m]) for m in self.modalities}
        return ModelOutput(result.prediction, unimodal, result.attended, terms)


def build_mctn(cfg: ModelConfig, spec: DataSpec, options: MCTNOptions) -> MCTN:
    """Builds MCTN: text is the source; vision and audio, where present, are translation targets."""
    text = ModalityEncoders(spec, cfg, ("text",)) if spec.text_kind == "tokens" else None
    return MCTN(spec, text, options, cfg.dropout)


MODELS.add(
    "mctn",
    ModelEntry(
        build_mctn,
        MCTNOptions,
        requires=frozenset({"text"}),
        summary="MCTN: cyclic translation from text (Pham 2019)",
    ),
)
