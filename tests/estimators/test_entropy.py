"""Label-split Gaussian-mixture entropy against closed-form entropies, memory and small-group skipping."""

from __future__ import annotations

import math

import pytest
import torch

from mifusion.estimators.entropy import LabelSplitEntropy, label_split_entropy
from mifusion.estimators.functional import gaussian_entropy


def test_single_gaussian_matches_closed_form() -> None:
    generator = torch.Generator().manual_seed(0)
    cov = torch.tensor([[2.0, 0.6, 0.0], [0.6, 1.0, 0.2], [0.0, 0.2, 0.5]])
    chol = torch.linalg.cholesky(cov)
    y = torch.randn(20000, 3, generator=generator) @ chol.T
    out = label_split_entropy(y, torch.ones(20000))
    assert not out.skipped and out.groups_used == 1
    assert float(out.value) == pytest.approx(float(gaussian_entropy(cov)), abs=0.03)


def test_well_separated_mixture_matches_closed_form() -> None:
    generator = torch.Generator().manual_seed(1)
    n = 20000
    labels = torch.where(torch.rand(n, generator=generator) < 0.3, 1.0, -1.0)
    scales = torch.where(labels > 0, 1.0, 0.5).unsqueeze(1)
    y = torch.randn(n, 2, generator=generator) * scales + 50.0 * labels.unsqueeze(1)
    weight = float((labels > 0).float().mean())
    h_pos = 0.5 * 2 * math.log(2 * math.pi * math.e * 1.0)
    h_neg = 0.5 * 2 * math.log(2 * math.pi * math.e * 0.25)
    mixing = -(weight * math.log(weight) + (1 - weight) * math.log(1 - weight))
    expected = weight * h_pos + (1 - weight) * h_neg + mixing
    assert float(label_split_entropy(y, labels).value) == pytest.approx(expected, abs=0.03)


def test_rescaling_shifts_entropy_by_dimension_times_log_scale() -> None:
    y, labels = torch.randn(64, 4), torch.tensor([1.0, -1.0] * 32)
    shift = float(label_split_entropy(10.0 * y, labels).value - label_split_entropy(y, labels).value)
    assert shift == pytest.approx(4 * math.log(10.0), abs=1e-3)


@pytest.mark.parametrize("batch", [1, 2, 8])
def test_small_batches_never_nan_and_small_groups_are_skipped(batch: int) -> None:
    module = LabelSplitEntropy(memory_size=0, min_group_samples=3)
    for form in ("gaussian", "reference"):
        module.form = form
        y = torch.randn(batch, 16, requires_grad=True)
        labels = torch.tensor([1.0, -1.0] * batch)[:batch]
        out = module(y, labels)
        assert torch.isfinite(out.value)
        out.value.backward()
        assert torch.isfinite(y.grad).all()  # type: ignore[union-attr]
        expected_used = sum(int(n >= 3) for n in ((labels > 0).sum(), (labels < 0).sum()))
        assert out.groups_used == expected_used
        assert out.skipped == (expected_used == 0)
    assert int(module.skipped_count) == (2 if batch < 6 else 0)


def test_identical_rows_and_zero_labels_do_not_give_nan() -> None:
    out = label_split_entropy(torch.ones(8, 4), torch.tensor([1.0] * 4 + [-1.0] * 4))
    assert torch.isfinite(out.value)
    skipped = label_split_entropy(torch.randn(8, 4), torch.zeros(8))
    assert skipped.skipped and float(skipped.value) == 0.0


def test_memory_adds_detached_earlier_batches() -> None:
    module = LabelSplitEntropy(memory_size=1, min_group_samples=4)
    labels = torch.tensor([1.0, 1.0, -1.0, -1.0])
    first = module(torch.randn(4, 2), labels)
    assert first.skipped  # 2 per group: too few alone
    y = torch.randn(4, 2, requires_grad=True)
    second = module(y, labels)  # 2 current + 2 remembered per group
    assert not second.skipped and second.groups_used == 2
    second.value.backward()
    assert y.grad is not None
    module.eval()
    module(torch.randn(4, 2), labels)
    assert len(module._memory) == 1  # evaluation batches are not remembered
