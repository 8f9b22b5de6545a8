"""The MMSA-parity TFN, LMF and LF-DNN run on every modality subset and refuse token text (no MMSA needed)."""

from __future__ import annotations

from itertools import combinations

import pytest
import torch

from mifusion.config import ModelConfig, PenaltyConfig
from mifusion.errors import ConfigError
from mifusion.models.build import build_model
from mifusion.models.testing import tiny_spec

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
