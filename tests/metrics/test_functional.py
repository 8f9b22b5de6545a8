"""The functional metrics against sklearn / scipy and hand-computed cases (REFERENCE section 5)."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from scipy.stats import pearsonr
from sklearn.metrics import accuracy_score, f1_score

from mifusion.metrics import functional as F


@pytest.fixture
def pair() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    target = np.round(rng.uniform(-3, 3, 300) * 3) / 3  # many exact zeros and thirds
    target[:20] = 0.0
    pred = target + rng.normal(0, 1.0, 300)
    return pred, target


def test_mae_and_corr_match_reference(pair):
    pred, target = pair
    assert F.mae(pred, target) == pytest.approx(np.mean(np.abs(pred - target)))
    assert F.corr(pred, target) == pytest.approx(pearsonr(pred, target)[0], abs=1e-12)


def test_metrics_accept_torch_tensors(pair):
    torch = pytest.importorskip("torch")
    pred, target = pair
    got = F.f1_non0(torch.tensor(pred).view(-1, 1), torch.tensor(target))
    assert got == pytest.approx(F.f1_non0(pred, target), abs=1e-6)


def test_binary_metrics_match_sklearn(pair):
    pred, target = pair
    assert F.acc2_has0(pred, target) == pytest.approx(accuracy_score(target >= 0, pred >= 0))
    assert F.f1_has0(pred, target) == pytest.approx(f1_score(target >= 0, pred >= 0, average="weighted"))
    keep = target != 0
    t, p = target[keep] > 0, pred[keep] > 0
    assert F.acc2_non0(pred, target) == pytest.approx(accuracy_score(t, p))
    assert F.f1_non0(pred, target) == pytest.approx(f1_score(t, p, average="weighted"))


@pytest.mark.parametrize("seed", range(5))
def test_weighted_f1_matches_sklearn_multiclass(seed):
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, 5, 50)
    y_pred = np.where(rng.random(50) < 0.5, y_true, rng.integers(0, 6, 50))  # class 5 only predicted
    expected = f1_score(y_true, y_pred, average="weighted", zero_division=0)
    assert F.weighted_f1(y_true, y_pred) == pytest.approx(expected)


def test_f1_uses_truth_as_support():
    y_true, y_pred = np.array([0, 0, 0, 0, 1]), np.array([0, 0, 1, 1, 1])
    swapped = F.weighted_f1(y_pred, y_true)
    assert F.weighted_f1(y_true, y_pred) == pytest.approx(f1_score(y_true, y_pred, average="weighted"))
    assert F.weighted_f1(y_true, y_pred) != pytest.approx(swapped)


def test_rounding_is_half_to_even_on_half_labels():
    target = np.array([0.5, 1.5, 2.5, -0.5, -1.5, -2.5])
    pred = np.array([0.0, 2.0, 2.0, 0.0, -2.0, -2.0])  # the half-to-even roundings of target
    assert F.acc7(pred, target) == 1.0
    half_up = np.floor(target + 0.5)  # 1, 2, 3, 0, -1, -2: three of six differ
    assert F.acc7(half_up, target) == pytest.approx(0.5)


def test_acc5_and_acc7_clip_before_rounding():
    assert F.acc7([5.0, -4.0], [3.0, -3.0]) == 1.0
    assert F.acc5([2.6, -3.0], [2.0, -2.0]) == 1.0
    assert F.acc7([2.6], [2.0]) == 0.0


def test_has0_and_non0_hand_case():
    target = np.array([0.0, 0.0, 1.0, -1.0])
    pred = np.array([0.1, -0.1, 0.5, 0.2])
    assert F.acc2_has0(pred, target) == pytest.approx(0.5)  # 0>=0 ok, -0.1 wrong, ok, wrong
    assert F.acc2_non0(pred, target) == pytest.approx(0.5)  # zeros removed: ok, wrong
    assert F.acc2_non0([0.0], [1.0]) == 0.0  # p == 0 is not positive under non0


def test_constant_predictions_give_nan_corr_and_say_so(caplog):
    with caplog.at_level(logging.WARNING, logger="mifusion.metrics.functional"):
        assert np.isnan(F.corr(np.ones(10), np.arange(10.0)))
        # a constant whose float mean differs from itself in the last bit must still give NaN
        value = 0.1
        assert np.full(686, value).mean() != value
        assert np.isnan(F.corr(np.full(686, value), np.arange(686.0)))
    assert "constant" in caplog.text and "predictions" in caplog.text


def test_all_zero_labels_make_non0_undefined(caplog):
    pred, target = np.array([0.3, -0.2, 1.0]), np.zeros(3)
    with caplog.at_level(logging.WARNING, logger="mifusion.metrics.functional"):
        assert np.isnan(F.acc2_non0(pred, target))
        assert np.isnan(F.f1_non0(pred, target))
    assert "every label is 0" in caplog.text
    assert F.acc2_has0(pred, target) == pytest.approx(2 / 3)
    assert np.isnan(F.corr(pred, target))


def test_sims_bins_are_half_open_and_predictions_clipped():
    values = np.array([-1.0, -0.7, -0.69, -0.1, 0.0, 0.1, 0.11, 0.7, 0.71, 1.0, 5.0, -5.0])
    assert F.sims_classes(values, 5).tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 4, 0]
    assert F.sims_classes(values, 3).tolist() == [0, 0, 0, 0, 1, 1, 2, 2, 2, 2, 2, 0]
    assert F.sims_classes(values, 2).tolist() == [0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 0]


def test_sims_metrics_match_sklearn():
    rng = np.random.default_rng(0)
    target = np.round(rng.uniform(-1, 1, 200) * 5) / 5
    pred = target + rng.normal(0, 0.4, 200)
    t2, p2 = F.sims_classes(target, 2), F.sims_classes(pred, 2)
    assert F.sims_acc2(pred, target) == pytest.approx(accuracy_score(t2, p2))
    assert F.sims_f1(pred, target) == pytest.approx(f1_score(t2, p2, average="weighted"))
    t5, p5 = F.sims_classes(target, 5), F.sims_classes(pred, 5)
    assert F.sims_acc5(pred, target) == pytest.approx(accuracy_score(t5, p5))
    assert 0.0 < F.sims_acc3(pred, target) < 1.0


def test_mismatched_sizes_raise_shape_error():
    from mifusion.errors import ShapeError

    with pytest.raises(ShapeError, match="one prediction per target"):
        F.mae([1.0, 2.0], [1.0])
