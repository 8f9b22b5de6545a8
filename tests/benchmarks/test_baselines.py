"""benchmarks/baselines.py --smoke runs end to end (so the command cannot rot); its numbers are not results."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np

BASELINES = Path(__file__).resolve().parents[2] / "benchmarks" / "baselines.py"


def _module():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("benchmarks_baselines", BASELINES)
    module = importlib.util.module_from_spec(spec)
    sys.modules["benchmarks_baselines"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_smoke_writes_every_row(tmp_path: Path) -> None:
    module = _module()
    grounds = ["synthetic", "mmsa_aligned", "mmsa_unaligned"]
    assert module.main(["--smoke", "--out", str(tmp_path), "--grounds", *grounds]) == 0
    report = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert report.startswith("**SMOKE MODE")
    for text in ("constant (train median)", "ridge (all)", "ridge (text)", "text-only", "| lf_dnn | 2 |"):
        assert text in report
    assert "| ef_lstm | 2 |" in report  # the aligned ground feeds it
    assert "ef_lstm | | not run: needs word-aligned data" in report  # the unaligned ones do not
    results = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    assert set(results) == set(grounds)
    assert len(results["synthetic"]["models"]["lf_dnn"]["test"]) == 2


def test_ridge_recovers_a_linear_signal_and_picks_alpha_on_validation() -> None:
    module = _module()
    rng = np.random.default_rng(0)
    w = rng.standard_normal(5)
    x = {s: rng.standard_normal((n, 5)) for s, n in (("train", 400), ("valid", 100), ("test", 100))}
    y = {s: v @ w + 0.01 * rng.standard_normal(len(v)) for s, v in x.items()}
    pred, alpha, valid = module.ridge_fit(x, y)
    assert np.mean(np.abs(pred - y["test"])) < 0.05 and valid < 0.05 and alpha <= 1.0


def test_averaged_features_ignore_padding_and_special_tokens() -> None:
    module = _module()

    from types import SimpleNamespace

    split = SimpleNamespace(
        sequences={"audio": np.array([[[1.0], [3.0], [99.0]]])},
        lengths={"audio": np.array([2])},
        token_ids=np.array([[1, 5, 5, 6, 2, 0]]),
    )
    feats = module.averaged_features(split, vocab=8)
    assert feats["audio"].tolist() == [[2.0]]
    np.testing.assert_allclose(feats["text"][0], [0, 0, 0, 0, 0, 2 / 3, 1 / 3, 0])


def test_every_registered_model_can_have_a_row() -> None:
    """``--models`` offers every model of the registry, so no model is left out of the benchmark by omission."""
    from mifusion.models import MODELS as REGISTRY

    assert set(_module().MODELS) == set(REGISTRY.names())
