"""Text encoder: pooling, freezing, padding invariance, local-only loading."""

from __future__ import annotations

import pytest
import torch

from mifusion.config import TextEncoderConfig
from mifusion.encoders.build import build_text_encoder
from mifusion.errors import ConfigError
from mifusion.models.testing import tiny_batch, tiny_spec

pytest.importorskip("transformers")

TINY = TextEncoderConfig(hidden_size=32, num_layers=2, num_heads=2, intermediate_size=64)


@pytest.mark.parametrize("pooling", ["cls", "mean"])
def test_text_encoder_ignores_padding(pooling: str) -> None:
    torch.manual_seed(0)
    spec = tiny_spec(("text",))
    encoder = build_text_encoder(TextEncoderConfig(**{**TINY.__dict__, "pooling": pooling}), spec).eval()
    batch = tiny_batch(spec, 3)
    assert batch.token_ids is not None and batch.token_mask is not None
    out = encoder(batch.token_ids, batch.token_mask)
    ids = torch.cat([batch.token_ids, torch.randint(1, 30, (3, 4))], dim=1)
    mask = torch.cat([batch.token_mask, torch.zeros(3, 4, dtype=torch.bool)], dim=1)
    torch.testing.assert_close(encoder(ids, mask).pooled, out.pooled, atol=1e-5, rtol=1e-5)
    assert out.pooled.shape == (3, 32)


def test_frozen_encoder_has_no_trainable_parameters() -> None:
    cfg = TextEncoderConfig(**{**TINY.__dict__, "finetune": False})
    encoder = build_text_encoder(cfg, tiny_spec(("text",)))
    assert not any(p.requires_grad for p in encoder.parameters())


def test_empty_text_gives_zero_vector() -> None:
    encoder = build_text_encoder(TINY, tiny_spec(("text",))).eval()
    out = encoder(torch.zeros(2, 3, dtype=torch.long), torch.tensor([[True, True, False], [False] * 3]))
    assert torch.isfinite(out.states).all()
    assert out.pooled[1].abs().sum() == 0 and out.pooled[0].abs().sum() > 0


def test_missing_local_model_is_a_config_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    cfg = TextEncoderConfig(pretrained=str(tmp_path / "no_such_model"))
    with pytest.raises(ConfigError, match="could not be loaded locally"):
        build_text_encoder(cfg, tiny_spec(("text",)))


def test_feature_text_cannot_use_a_transformer() -> None:
    with pytest.raises(ConfigError, match="token ids"):
        build_text_encoder(TINY, tiny_spec(("text",), text_kind="features"))
