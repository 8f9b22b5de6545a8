"""LMF's factor initialisation: the default starts from each modality's linear term, not a vanishing product."""

from __future__ import annotations

import pytest
import torch

from mifusion.models.build import build_model
from mifusion.models.testing import tiny_batch, tiny_model_config, tiny_spec

pytest.importorskip("transformers")


def _fused_spread(factor_init: str) -> float:
    torch.manual_seed(0)
    options = {"unimodal_dim": 32, "rank": 4, "fused_dim": 32, "factor_init": factor_init}
    spec = tiny_spec()
    model = build_model(tiny_model_config("lmf", **options), None, spec)
    with torch.no_grad():
        return float(model(tiny_batch(spec, 16)).fused.std())


def test_unit_bias_rows_keep_the_fused_vector_alive() -> None:
    assert _fused_spread("unit_bias") > 30 * _fused_spread("xavier")


def test_unit_bias_sets_only_the_constant_rows() -> None:
    torch.manual_seed(0)
    model = build_model(tiny_model_config("lmf"), None, tiny_spec())
    for factor in model.fusion.factors.values():
        assert torch.all(factor[:, 0, :] == 1.0) and not torch.all(factor[:, 1:, :] == 1.0)
