"""Pooling options of SequenceEncoder: every option and combination honours masks and trains every weight."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from mifusion.config import SequenceEncoderConfig
from mifusion.encoders.build import build_sequence_encoder
from mifusion.encoders.pooling import AttentionPooling, masked_max, masked_mean
from mifusion.encoders.sequence import POOLINGS, RecurrentEncoder, SequenceEncoder, xavier_init
from mifusion.errors import ConfigError

POOLING_CHOICES = [(p,) for p in POOLINGS] + [("mean", "last"), ("mean", "max", "attention", "last")]
KINDS = ["lstm", "gru", "transformer", "linear"]


def _data() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """x (3, 4, 2) zero beyond lengths [4, 0, 2], the same with garbage beyond them, and the lengths."""
    torch.manual_seed(0)
    lengths = torch.tensor([4, 0, 2])
    valid = (torch.arange(4)[None, :] < lengths[:, None]).unsqueeze(-1)
    x = torch.randn(3, 4, 2) * valid
    garbage = torch.cat([x, torch.randn(3, 3, 2)], dim=1)
    garbage[:, :4] = torch.where(valid, x, torch.randn(3, 4, 2) * 50)
    return x, garbage, lengths


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("pooling", POOLING_CHOICES, ids="+".join)
def test_pooling_respects_masks_and_zero_lengths(kind: str, pooling: tuple[str, ...]) -> None:
    cfg = SequenceEncoderConfig(kind=kind, hidden_dim=4, output_dim=3, pooling=pooling)  # type: ignore[arg-type]
    encoder = build_sequence_encoder(cfg, 2).eval()
    x, garbage, lengths = _data()
    out, out_garbage = encoder(x, lengths), encoder(garbage, lengths)
    torch.testing.assert_close(out.pooled, out_garbage.pooled, atol=1e-5, rtol=1e-5)
    assert out.pooled.shape == (3, 3)
    assert out.pooled[1].abs().sum() == 0 and torch.isfinite(out.pooled).all()


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("pooling", POOLING_CHOICES, ids="+".join)
@pytest.mark.parametrize("init", ["default", "xavier"])
def test_every_parameter_gets_a_gradient(kind: str, pooling: tuple[str, ...], init: str) -> None:
    cfg = SequenceEncoderConfig(kind=kind, hidden_dim=4, output_dim=3, pooling=pooling, init=init)  # type: ignore[arg-type]
    encoder = build_sequence_encoder(cfg, 2)
    x, _, lengths = _data()
    x.requires_grad_(True)
    encoder(x, lengths).pooled.pow(2).sum().backward()
    missing = [n for n, p in encoder.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert not missing, missing
    assert x.grad is not None and torch.isfinite(x.grad).all()


def test_pooled_parts_are_what_they_say() -> None:
    core = RecurrentEncoder(2, 4)
    encoder = SequenceEncoder(core, 3, pooling=("mean", "max", "last"))
    encoder.project = nn.Identity()  # type: ignore[assignment]
    x, _, lengths = _data()
    states = core(x, lengths)
    pooled = encoder(x, lengths).pooled
    mask = states.mask
    torch.testing.assert_close(pooled[:, :4], masked_mean(states.states, mask))
    torch.testing.assert_close(pooled[:, 4:8], masked_max(states.states, mask))
    torch.testing.assert_close(pooled[:, 8:], states.pooled)  # the LSTM's true last state
    torch.testing.assert_close(pooled[0, 4:8], states.states[0].max(dim=0).values)


def test_default_pooling_keeps_the_core_state() -> None:
    torch.manual_seed(0)
    encoder = build_sequence_encoder(SequenceEncoderConfig(hidden_dim=4, output_dim=3), 2)
    x, _, lengths = _data()
    out = encoder(x, lengths)
    torch.testing.assert_close(
        out.pooled, encoder.project(encoder.core(x, lengths).pooled) * torch.tensor([[1.0], [0.0], [1.0]])
    )
    assert encoder.pooling.attention is None and encoder.project.in_features == 4


def test_attention_weights_only_valid_steps() -> None:
    pool = AttentionPooling(2)
    states = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [9.0, 9.0]]])
    out = pool(states, torch.tensor([[True, False, False]]))
    torch.testing.assert_close(out, states[:, 0])


def test_xavier_init_is_per_gate_and_zeroes_biases() -> None:
    torch.manual_seed(0)
    lstm = nn.LSTM(384, 16)
    xavier_init(lstm)
    bound = (6.0 / (384 + 16)) ** 0.5  # one gate's fan-in + fan-out
    assert lstm.weight_ih_l0.abs().max() <= bound and lstm.weight_ih_l0.abs().max() > 0.9 * bound
    assert lstm.bias_ih_l0.abs().sum() == 0 and lstm.bias_hh_l0.abs().sum() == 0


def test_repeated_or_unknown_pooling_is_refused() -> None:
    with pytest.raises(ConfigError, match="repeats"):
        SequenceEncoderConfig(pooling=("mean", "mean"))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="distinct names"):
        SequenceEncoder(RecurrentEncoder(2, 4), 3, pooling=("avg",))
