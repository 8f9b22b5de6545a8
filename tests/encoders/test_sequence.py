"""Sequence encoders: exact agreement with packed RNNs, masks, zero lengths."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from mifusion.config import SequenceEncoderConfig
from mifusion.encoders.build import build_sequence_encoder
from mifusion.encoders.pooling import last_valid, masked_mean
from mifusion.encoders.sequence import RecurrentEncoder, TransformerSequenceEncoder, reverse_within_length
from mifusion.errors import ConfigError


def _reference(encoder: RecurrentEncoder, kind: str, layers: int, bidirectional: bool) -> nn.Module:
    """A torch RNN holding the same weights as ``encoder``."""
    cls = {"lstm": nn.LSTM, "gru": nn.GRU}[kind]
    first = encoder.forward_layers[0]
    ref = cls(first.input_size, first.hidden_size, layers, batch_first=True, bidirectional=bidirectional)
    state = {}
    for layer in range(layers):
        for name, p in encoder.forward_layers[layer].named_parameters():
            state[name.replace("_l0", f"_l{layer}")] = p
        if bidirectional:
            for name, p in encoder.backward_layers[layer].named_parameters():
                state[name.replace("_l0", f"_l{layer}") + "_reverse"] = p
    ref.load_state_dict(state)
    return ref


@pytest.mark.parametrize("kind", ["lstm", "gru"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("layers", [1, 2])
def test_recurrent_matches_packed(kind: str, bidirectional: bool, layers: int) -> None:
    torch.manual_seed(0)
    encoder = RecurrentEncoder(3, 5, kind, layers, bidirectional)
    ref = _reference(encoder, kind, layers, bidirectional)
    lengths = torch.tensor([6, 2, 4, 1])
    x = torch.randn(4, 6, 3) * (torch.arange(6)[None, :] < lengths[:, None]).unsqueeze(-1)
    out = encoder(x, lengths)
    packed_out, hidden = ref(pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False))
    states, _ = pad_packed_sequence(packed_out, batch_first=True, total_length=6)
    h_n = hidden[0] if kind == "lstm" else hidden
    directions = 2 if bidirectional else 1
    final = h_n.view(layers, directions, 4, 5)[-1]  # (dirs, B, H)
    expected = torch.cat(list(final), dim=-1)
    torch.testing.assert_close(out.states, states, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(out.pooled, expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("kind", ["lstm", "gru", "transformer", "linear"])
def test_padding_and_zero_lengths(kind: str) -> None:
    torch.manual_seed(0)
    encoder = build_sequence_encoder(SequenceEncoderConfig(kind=kind, hidden_dim=4, output_dim=3), 2).eval()
    lengths = torch.tensor([3, 0, 2])
    x = torch.randn(3, 3, 2) * (torch.arange(3)[None, :] < lengths[:, None]).unsqueeze(-1)
    padded = torch.cat([x, torch.randn(3, 4, 2)], dim=1)  # garbage beyond the true length
    x.requires_grad_(True)
    out = encoder(x, lengths)
    out_padded = encoder(padded, lengths)
    torch.testing.assert_close(out.pooled, out_padded.pooled, atol=1e-5, rtol=1e-5)
    assert torch.isfinite(out.states).all() and torch.isfinite(out.pooled).all()
    assert out.pooled[1].abs().sum() == 0
    out.pooled.sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()


def test_reverse_within_length_is_an_involution() -> None:
    x = torch.randn(3, 5, 2)
    lengths = torch.tensor([5, 3, 0])
    torch.testing.assert_close(reverse_within_length(reverse_within_length(x, lengths), lengths), x)
    torch.testing.assert_close(reverse_within_length(x, lengths)[1, :3], x[1, :3].flip(0))


def test_pooling_ignores_padding() -> None:
    states = torch.randn(2, 4, 3)
    mask = torch.tensor([[True, True, False, False], [False, False, False, False]])
    assert torch.allclose(masked_mean(states, mask)[0], states[0, :2].mean(0))
    assert masked_mean(states, mask)[1].abs().sum() == 0
    assert torch.allclose(last_valid(states, mask.sum(1))[0], states[0, 1])


def test_transformer_encoder_masks_keys() -> None:
    torch.manual_seed(0)
    encoder = TransformerSequenceEncoder(2, 4, num_heads=2).eval()
    x = torch.randn(1, 5, 2)
    a = encoder(x, torch.tensor([3])).states[:, :3]
    x2 = x.clone()
    x2[:, 3:] = 100.0
    b = encoder(x2, torch.tensor([3])).states[:, :3]
    torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


def test_linear_kind_is_a_linear_map_of_the_time_average() -> None:
    torch.manual_seed(0)
    cfg = SequenceEncoderConfig(kind="linear", hidden_dim=4, output_dim=3, pooling=("mean",))
    encoder = build_sequence_encoder(cfg, 2)
    lengths = torch.tensor([3, 1, 0])
    x = torch.randn(3, 4, 2) * (torch.arange(4)[None, :] < lengths[:, None]).unsqueeze(-1)
    out = encoder(x, lengths)
    average = x.sum(dim=1) / lengths.clamp_min(1).unsqueeze(-1)  # (B, D_in)
    expected = encoder.project(encoder.core.project(average)) * (lengths > 0).unsqueeze(-1)
    torch.testing.assert_close(out.pooled, expected, atol=1e-6, rtol=1e-6)
    assert out.states.shape == (3, 4, 4) and out.states[0, 3].abs().sum() == 0  # padding stays 0
    # the core's own pooling is the mean: no pooling named gives the same vector
    own = build_sequence_encoder(SequenceEncoderConfig(kind="linear", hidden_dim=4, output_dim=3), 2)
    own.load_state_dict(encoder.state_dict())
    torch.testing.assert_close(own(x, lengths).pooled, out.pooled)


@pytest.mark.parametrize("bad", [{"num_layers": 2}, {"bidirectional": True}])
def test_linear_kind_refuses_depth_and_direction(bad: dict[str, object]) -> None:
    with pytest.raises(ConfigError, match="kind=linear"):
        SequenceEncoderConfig(kind="linear", **bad)  # type: ignore[arg-type]
