"""The MMSA-parity TFN, LMF, LF-DNN and MISA run on every modality subset and refuse token text (no MMSA needed)."""

from __future__ import annotations

from itertools import combinations

import pytest
import torch

from mifusion.config import ModelConfig, PenaltyConfig
from mifusion.errors import ConfigError
from mifusion.models.build import build_model
from mifusion.models.testing import tiny_batch, tiny_model_config, tiny_spec

from . import harness

SUBSETS = [s for k in (1, 2, 3) for s in combinations(("text", "audio", "vision"), k)]


@pytest.mark.parametrize("name", ["tfn", "lmf", "lf_dnn"])
@pytest.mark.parametrize("subset", SUBSETS)
def test_every_subset_trains(name: str, subset: tuple[str, ...]) -> None:
    full = harness.feature_batch(4, {m: harness.CLASSIC_STEPS[m] for m in subset}, full=())
    torch.manual_seed(0)
    model = build_model(
        ModelConfig(name=name, options={"parity": "mmsa"}), PenaltyConfig(), harness.feature_spec(full)
    )
    out = model.double()(full)
    assert out.prediction.shape == (4,) and set(out.unimodal) == set(subset)
    (out.prediction - full.labels).abs().mean().backward()
    assert all(p.grad is not None for p in model.parameters())


@pytest.mark.parametrize("name", ["tfn", "lmf", "lf_dnn"])
def test_token_text_is_refused(name: str) -> None:
    with pytest.raises(ConfigError, match="precomputed text features"):
        build_model(ModelConfig(name=name, options={"parity": "mmsa"}), PenaltyConfig(), tiny_spec())


@pytest.mark.parametrize("subset", [s for s in SUBSETS if "text" in s] + [("audio",), ("audio", "vision")])
def test_misa_parity_every_subset_trains(subset: tuple[str, ...]) -> None:
    spec = tiny_spec(subset)
    torch.manual_seed(0)
    model = build_model(tiny_model_config("misa", parity="mmsa", dim=4), PenaltyConfig(), spec)
    model.eval()  # the fusion transformer's fixed dropout
    batch = tiny_batch(spec, 4)
    out = model(batch)
    assert out.prediction.shape == (4,) and set(out.unimodal) == set(subset)
    loss = (out.prediction - batch.labels).abs().mean() + sum(t.weight * t.value for t in out.terms.values())
    loss.backward()
    assert all(p.grad is not None for n, p in model.named_parameters() if p.requires_grad), (
        "every parameter learns"
    )


def test_misa_parity_refuses_feature_text() -> None:
    with pytest.raises(ConfigError, match="token text"):
        build_model(
            ModelConfig(name="misa", options={"parity": "mmsa"}),
            PenaltyConfig(),
            tiny_spec(text_kind="features"),
        )


@pytest.mark.parametrize("subset", SUBSETS)
def test_ef_lstm_parity_every_subset_trains(subset: tuple[str, ...]) -> None:
    batch = harness.feature_batch(4, dict.fromkeys(subset, 6), full=(), aligned=True)
    torch.manual_seed(0)
    cfg = ModelConfig(name="ef_lstm", options={"parity": "mmsa", "steps": 8, "lstm_dim": 4})
    model = build_model(cfg, PenaltyConfig(), harness.feature_spec(batch, aligned=True)).double()
    out = model(batch)
    assert out.prediction.shape == (4,) and set(out.unimodal) == set(subset)
    (out.prediction - batch.labels).abs().mean().backward()
    assert all(p.grad is not None for p in model.parameters())


@pytest.mark.parametrize("subset", [s for s in SUBSETS if "text" in s])
def test_mag_bert_parity_every_subset_trains(subset: tuple[str, ...]) -> None:
    spec = tiny_spec(subset, aligned=True)
    torch.manual_seed(0)
    model = build_model(tiny_model_config("mag_bert", parity="mmsa"), PenaltyConfig(), spec)
    batch = tiny_batch(spec, 4)
    out = model(batch)
    assert out.prediction.shape == (4,) and set(out.unimodal) == set(subset)
    (out.prediction - batch.labels).abs().mean().backward()
    missing = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert not missing, missing[:3]


@pytest.mark.parametrize("subset", SUBSETS)
def test_mult_parity_every_subset_trains(subset: tuple[str, ...]) -> None:
    batch = harness.feature_batch(4, {m: harness.CLASSIC_STEPS[m] for m in subset}, full=())
    torch.manual_seed(0)
    cfg = ModelConfig(
        name="mult", options={"parity": "mmsa", "dim": 4, "crossmodal_layers": 1, "kernel_size": 3}
    )
    model = build_model(cfg, PenaltyConfig(), harness.feature_spec(batch)).double()
    out = model(batch)
    assert out.prediction.shape == (4,) and set(out.unimodal) == set(subset)
    (out.prediction - batch.labels).abs().mean().backward()
    assert all(p.grad is not None for p in model.parameters())
