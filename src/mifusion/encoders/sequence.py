"""Frame-sequence encoders (audio, vision, precomputed text features) that honour true lengths.

Recurrent encoders run on the padded tensor (fast, no packing) and read each sequence's state at its true
last step; the backward direction runs on each sequence reversed *within its length*. With right padding,
both give exactly the packed (``pack_padded_sequence``) result at the unpacked cost.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import torch
from torch import Tensor, nn

from mifusion.encoders.pooling import (
    AttentionPooling,
    last_valid,
    masked_max,
    masked_mean,
    safe_key_padding_mask,
)


class SequenceOutput(NamedTuple):
    """Encoded sequence: per-step states, the valid mask and a pooled vector."""

    states: Tensor  # (B, T, state_dim)
    mask: Tensor  # (B, T) True where valid
    pooled: Tensor  # (B, output_dim)


def reverse_within_length(x: Tensor, lengths: Tensor) -> Tensor:
    """Reverses each row's first ``length`` steps; padding stays where it is.

    Args:
        x: (B, T, D) right-padded sequences.
        lengths: (B,) true lengths.

    Returns:
        (B, T, D) with ``out[b, t] = x[b, length_b - 1 - t]`` for ``t < length_b``.

    Example:
        >>> x = torch.tensor([[[1.0], [2.0], [3.0], [0.0]]])
        >>> reverse_within_length(x, torch.tensor([3]))[0, :, 0].tolist()
        [3.0, 2.0, 1.0, 0.0]
    """
    steps = torch.arange(x.shape[1], device=x.device).unsqueeze(0)  # (1, T)
    lengths = lengths.to(x.device).unsqueeze(1)  # (B, 1)
    index = torch.where(steps < lengths, lengths - 1 - steps, steps)  # (B, T)
    return torch.gather(x, 1, index.unsqueeze(-1).expand_as(x))


def length_mask(lengths: Tensor, steps: int) -> Tensor:
    """(B, T) True where ``t < length``."""
    return torch.arange(steps, device=lengths.device).unsqueeze(0) < lengths.unsqueeze(1)


class RecurrentEncoder(nn.Module):
    """A (bi)directional multi-layer LSTM/GRU over right-padded sequences, exact under true lengths.

    Equal to ``nn.LSTM`` over ``pack_padded_sequence`` (Hochreiter & Schmidhuber 1997) with the same
    weights, without the packing cost; zero-length rows give zero states.

    Example:
        >>> enc = RecurrentEncoder(3, 4, bidirectional=True)
        >>> out = enc(torch.randn(2, 5, 3), torch.tensor([5, 2]))
        >>> tuple(out.states.shape), tuple(out.pooled.shape)
        ((2, 5, 8), (2, 8))
    """

    def __init__(
        self,
        input_dim: int,
        hidden_dim: int,
        kind: str = "lstm",
        num_layers: int = 1,
        bidirectional: bool = False,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        cell = {"lstm": nn.LSTM, "gru": nn.GRU}[kind]
        directions = 2 if bidirectional else 1
        self.bidirectional = bidirectional
        self.output_dim = hidden_dim * directions
        self.forward_layers = nn.ModuleList()
        self.backward_layers = nn.ModuleList()
        for layer in range(num_layers):
            size = input_dim if layer == 0 else self.output_dim
            self.forward_layers.append(cell(size, hidden_dim, batch_first=True))
            if bidirectional:
                self.backward_layers.append(cell(size, hidden_dim, batch_first=True))
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor, lengths: Tensor) -> SequenceOutput:
        """Encodes ``x`` (B, T, D_in) with true ``lengths`` (B,) into states (B, T, H*dirs)."""
        lengths = lengths.to(x.device)
        mask = length_mask(lengths, x.shape[1])  # (B, T)
        keep = mask.to(x.dtype).unsqueeze(-1)  # (B, T, 1)
        h = x * keep
        last_forward = last_backward = h.new_zeros(0)
        for index, layer in enumerate(self.forward_layers):
            if index > 0:
                h = self.dropout(h)
            forward_states, _ = layer(h)  # (B, T, H)
            last_forward = last_valid(forward_states, lengths)
            if not self.bidirectional:
                h = forward_states * keep
                continue
            backward_reversed, _ = self.backward_layers[index](reverse_within_length(h, lengths))
            last_backward = last_valid(backward_reversed, lengths)  # state after reading step 0
            backward_states = reverse_within_length(backward_reversed, lengths)
            h = torch.cat([forward_states, backward_states], dim=-1) * keep  # (B, T, 2H)
        if self.bidirectional:
            pooled = torch.cat([last_forward, last_backward], dim=-1)
        else:
            pooled = last_forward
        return SequenceOutput(h, mask, pooled)


def sinusoidal_positions(steps: int, dim: int, device: torch.device) -> Tensor:
    """(T, dim) fixed sinusoidal position encodings (Vaswani et al. 2017)."""
    position = torch.arange(steps, device=device, dtype=torch.float32).unsqueeze(1)
    div = torch.exp(torch.arange(0, dim, 2, device=device, dtype=torch.float32) * (-math.log(1e4) / dim))
    table = torch.zeros(steps, dim, device=device)
    table[:, 0::2] = torch.sin(position * div)
    table[:, 1::2] = torch.cos(position * div)[:, : dim // 2]
    return table


class TransformerSequenceEncoder(nn.Module):
    """A small transformer encoder (Vaswani et al. 2017) with key padding masks and masked-mean pooling.

    Example:
        >>> enc = TransformerSequenceEncoder(3, 8, num_heads=2)
        >>> out = enc(torch.randn(2, 5, 3), torch.tensor([5, 0]))
        >>> tuple(out.pooled.shape), bool(out.pooled[1].abs().sum() == 0)
        ((2, 8), True)
    """

    def __init__(
        self, input_dim: int, hidden_dim: int, num_layers: int = 1, num_heads: int = 2, dropout: float = 0.0
    ) -> None:
        super().__init__()
        self.output_dim = hidden_dim
        self.project = nn.Linear(input_dim, hidden_dim)
        layer = nn.TransformerEncoderLayer(hidden_dim, num_heads, 2 * hidden_dim, dropout, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers, enable_nested_tensor=False)

    def forward(self, x: Tensor, lengths: Tensor) -> SequenceOutput:
        """Encodes ``x`` (B, T, D_in) with true ``lengths`` (B,) into states (B, T, hidden_dim)."""
        lengths = lengths.to(x.device)
        mask = length_mask(lengths, x.shape[1])  # (B, T)
        h = self.project(x) + sinusoidal_positions(x.shape[1], self.output_dim, x.device)  # (B, T, H)
        h = self.encoder(h, src_key_padding_mask=safe_key_padding_mask(mask))
        h = h * mask.to(h.dtype).unsqueeze(-1)
        return SequenceOutput(h, mask, masked_mean(h, mask))


class FrameLinearEncoder(nn.Module):
    """A per-frame linear projection without recurrence or attention; padding stays 0.

    Read by masked-mean pooling (its own) the pooled vector is a linear map of the time-averaged
    frames, the input of ridge regression on time averages: the encoder for short, noisy, weakly
    informative frame sequences on small data, where a recurrent core over every frame over-fits.

    Example:
        >>> enc = FrameLinearEncoder(3, 4)
        >>> x = torch.randn(2, 5, 3)
        >>> out = enc(x, torch.tensor([5, 2]))
        >>> bool(torch.allclose(out.pooled[1], enc.project(x[1, :2].mean(0)), atol=1e-6))
        True
    """

    def __init__(self, input_dim: int, hidden_dim: int) -> None:
        super().__init__()
        self.output_dim = hidden_dim
        self.project = nn.Linear(input_dim, hidden_dim)

    def forward(self, x: Tensor, lengths: Tensor) -> SequenceOutput:
        """Encodes ``x`` (B, T, D_in) with true ``lengths`` (B,) into states (B, T, hidden_dim)."""
        lengths = lengths.to(x.device)
        mask = length_mask(lengths, x.shape[1])  # (B, T)
        h = self.project(x) * mask.to(x.dtype).unsqueeze(-1)  # (B, T, H)
        return SequenceOutput(h, mask, masked_mean(h, mask))


SequenceCore = RecurrentEncoder | TransformerSequenceEncoder | FrameLinearEncoder
"""The cores a :class:`SequenceEncoder` reads."""


POOLINGS: tuple[str, ...] = ("last", "mean", "max", "attention")
"""Poolings of a sequence's valid steps; :class:`StatePooling` concatenates those it is given, in order."""


class StatePooling(nn.Module):
    """Pools encoded steps by one or more of :data:`POOLINGS`, concatenated in the given order.

    ``last`` is the state at the true last step: the core's own pooled vector when ``core_last`` (a
    recurrent core, whose bidirectional "last" is forward at the last step and backward after reading
    step 0), else gathered at ``length - 1``. ``mean`` / ``max`` are masked, ``attention`` is an
    :class:`~mifusion.encoders.pooling.AttentionPooling`. Empty names = the core's own pooled vector.

    Example:
        >>> pool = StatePooling(4, ("mean", "max"))
        >>> out = RecurrentEncoder(3, 4)(torch.randn(2, 5, 3), torch.tensor([5, 2]))
        >>> tuple(pool(out, torch.tensor([5, 2])).shape), pool.output_dim
        ((2, 8), 8)
    """

    def __init__(self, dim: int, names: Sequence[str] = (), core_last: bool = True) -> None:
        super().__init__()
        unknown = [p for p in names if p not in POOLINGS]
        if unknown or len(set(names)) != len(names):
            raise ValueError(f"pooling {list(names)}: use distinct names among {', '.join(POOLINGS)}")
        self.names = tuple(names)
        self.core_last = core_last
        self.attention = AttentionPooling(dim) if "attention" in self.names else None
        self.output_dim = dim * max(1, len(self.names))

    def forward(self, out: SequenceOutput, lengths: Tensor) -> Tensor:
        """states (B, T, D), mask (B, T), core pooled (B, D), lengths (B,) -> (B, output_dim)."""
        if not self.names:
            return out.pooled
        parts = []
        for name in self.names:
            if name == "last":
                parts.append(out.pooled if self.core_last else last_valid(out.states, lengths))
            elif name == "mean":
                parts.append(masked_mean(out.states, out.mask))
            elif name == "max":
                parts.append(masked_max(out.states, out.mask))
            else:
                assert self.attention is not None
                parts.append(self.attention(out.states, out.mask))
        return torch.cat(parts, dim=-1)  # (B, P * D)


class SequenceEncoder(nn.Module):
    """A recurrent, transformer or per-frame linear core, a pooling of its valid steps (:class:`StatePooling`), a projection.

    Empty ``pooling`` = the core's own (``last`` for recurrent cores, ``mean`` for the others). MMIM's
    audio/vision encoder is ``SequenceEncoder(RecurrentEncoder(D, 16), 16)`` (LSTM, last state, Linear).

    Example:
        >>> enc = SequenceEncoder(RecurrentEncoder(3, 4), 5, pooling=("mean", "last"))
        >>> out = enc(torch.randn(2, 6, 3), torch.tensor([6, 2]))
        >>> tuple(out.states.shape), tuple(out.pooled.shape), enc.project.in_features
        ((2, 6, 4), (2, 5), 8)
    """

    def __init__(
        self,
        core: SequenceCore,
        output_dim: int,
        pooling: Sequence[str] = (),
    ) -> None:
        super().__init__()
        self.core = core
        self.state_dim = core.output_dim
        self.output_dim = output_dim
        self.pooling = StatePooling(core.output_dim, pooling, isinstance(core, RecurrentEncoder))
        self.project = nn.Linear(self.pooling.output_dim, output_dim)

    def forward(self, x: Tensor, lengths: Tensor) -> SequenceOutput:
        """(B, T, D_in), (B,) -> states (B, T, state_dim), pooled (B, output_dim) (zero when empty)."""
        out = self.core(x, lengths)
        present = out.mask.any(dim=1).to(x.dtype).unsqueeze(-1)  # (B, 1)
        return SequenceOutput(out.states, out.mask, self.project(self.pooling(out, lengths)) * present)


def xavier_init(module: nn.Module) -> None:
    """Xavier-uniform weights (Glorot & Bengio 2010) and zero biases for the Linear and RNN layers in ``module``.

    Recurrent weights are initialised per gate block, so each gate's fan-in and fan-out are its own.
    Other layers (attention inside a transformer, which already starts Xavier-uniform) keep theirs.

    Example:
        >>> lstm = nn.LSTM(4, 3)
        >>> xavier_init(lstm)
        >>> float(lstm.bias_ih_l0.detach().abs().sum())
        0.0
    """
    with torch.no_grad():
        for sub in module.modules():
            if isinstance(sub, nn.RNNBase):
                for name, param in sub.named_parameters(recurse=False):
                    if name.startswith("weight"):
                        for block in param.split(sub.hidden_size, dim=0):  # one block per gate
                            nn.init.xavier_uniform_(block)
                    else:
                        nn.init.zeros_(param)
            elif isinstance(sub, nn.Linear):
                nn.init.xavier_uniform_(sub.weight)
                if sub.bias is not None:
                    nn.init.zeros_(sub.bias)
