"""docs/adding-a-model.md: its code runs as written, and the model it builds passes the model checks."""

from __future__ import annotations

import contextlib
import io
import re
import sys
import types
from itertools import combinations
from pathlib import Path

import pytest
import torch

from mifusion.config import ModelConfig, PenaltyConfig, load
from mifusion.models import MODELS
from mifusion.models.build import build_model
from mifusion.models.testing import tiny_batch, tiny_spec

pytest.importorskip("transformers")

PAGE = Path(__file__).resolve().parents[1] / "docs" / "adding-a-model.md"


def blocks(language: str) -> list[str]:
    """The page's fenced code blocks of ``language``."""
    return re.findall(rf"```{language}\n(.*?)```", PAGE.read_text(encoding="utf-8"), flags=re.S)


@pytest.fixture
def registered(monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    """Runs the page's model file; the registry is restored afterwards."""
    monkeypatch.setattr(MODELS, "_items", dict(MODELS._items))
    module = types.ModuleType("gated_sum")  # the page's file, imported as a module would be
    monkeypatch.setitem(sys.modules, "gated_sum", module)
    exec(compile(blocks("python")[0], str(PAGE), "exec"), module.__dict__)
    return module.__dict__


def test_the_usage_block_runs_and_prints_what_the_page_says(registered: dict[str, object]) -> None:
    pytest.importorskip("mifusion.estimators.penalty")
    usage = blocks("python")[1]
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(usage, str(PAGE), "exec"), {"__name__": "usage"})
    expected = re.search(r"# (torch\.Size.*)$", usage, flags=re.M)
    assert expected is not None and printed.getvalue().strip() == expected.group(1)


@pytest.mark.parametrize(
    "subset", [s for k in (1, 2, 3) for s in combinations(("text", "audio", "vision"), k)]
)
def test_the_example_runs_on_every_subset_and_learns(
    registered: dict[str, object], subset: tuple[str, ...]
) -> None:
    spec = tiny_spec(subset)
    torch.manual_seed(0)
    model = build_model(ModelConfig(name="gated_sum", options={"dim": 4}), PenaltyConfig(), spec)
    batch = tiny_batch(spec, 3)
    out = model(batch)
    assert out.prediction.shape == (3,) and out.fused is not None and out.fused.shape == (3, model.fused_dim)
    assert {m: v.shape[1] for m, v in out.unimodal.items()} == model.unimodal_dims
    (out.prediction - batch.labels).abs().mean().backward()
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)


def test_the_preset_block_is_a_valid_config(registered: dict[str, object], tmp_path: Path) -> None:
    path = tmp_path / "gated_sum.yaml"
    path.write_text(blocks("yaml")[0], encoding="utf-8")
    cfg = load(path)
    assert cfg.model.name == "gated_sum" and dict(cfg.model.options) == {"dim": 16}
    options_type = MODELS.get("gated_sum").options_type
    assert options_type is not None and options_type(**cfg.model.options).dim == 16


def test_the_tiny_options_line_names_a_real_option(registered: dict[str, object]) -> None:
    line = blocks("text")[0]
    assert re.fullmatch(r'"gated_sum": \{"dim": 4\},\n', line)
