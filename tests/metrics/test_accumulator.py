"""compute_metrics, MetricAccumulator, format_table, and the MOSI floors of REFERENCE section 5."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from mifusion.errors import ConfigError
from mifusion.metrics import MetricAccumulator, compute_metrics, format_table
from mifusion.metrics import functional as F


def test_compute_metrics_reports_percent():
    rng = np.random.default_rng(1)
    target = rng.uniform(-3, 3, 100)
    pred = target + rng.normal(0, 1, 100)
    m = compute_metrics(pred, target)
    assert set(m) == {"mae", "corr", "acc7", "acc5", "acc2_has0", "acc2_non0", "f1_has0", "f1_non0"}
    assert m["acc2_non0"] == pytest.approx(100 * F.acc2_non0(pred, target))
    assert m["mae"] == pytest.approx(F.mae(pred, target))
    sims = compute_metrics(np.clip(pred / 3, -1, 1), target / 3, kind="sims")
    assert set(sims) == {"mae", "corr", "sims_acc2", "sims_acc3", "sims_acc5", "sims_f1"}
    with pytest.raises(ConfigError, match="unknown metric kind"):
        compute_metrics(pred, target, kind="imdb")


def test_accumulator_equals_one_shot():
    rng = np.random.default_rng(2)
    target = rng.uniform(-3, 3, 57)
    pred = target + rng.normal(0, 1, 57)
    acc = MetricAccumulator("mosi")
    for start in range(0, 57, 16):
        acc.update(pred[start : start + 16], target[start : start + 16])
    assert len(acc) == 57
    assert acc.compute() == pytest.approx(compute_metrics(pred, target))
    acc.reset()
    assert len(acc) == 0


def test_format_table_rows_side_by_side():
    m = compute_metrics([1.0, -1.0, 0.5], [1.0, -1.0, 0.0])
    text = format_table({"ours": m, "const": compute_metrics([0.0] * 3, [1.0, -1.0, 0.0])})
    lines = text.splitlines()
    assert "Acc-2 has0/non0" in lines[0] and "F1 has0/non0" in lines[0]
    assert lines[2].startswith("| ours | 0.167 | ")
    assert "| 100.0 / 100.0 |" in lines[2]
    assert "NaN" in lines[3]  # constant predictions: Corr undefined
    assert "Acc-2 |" not in text.replace("Acc-2 has0/non0", "")


def _mosi_folds(path):
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    train = np.array([float(r["label"]) for r in rows if r["mode"] == "train"])
    test = np.array([float(r["label"]) for r in rows if r["mode"] == "test"])
    return train, test


def test_mosi_floors_on_the_real_test_fold(mosi_label_csv):
    train, test = _mosi_folds(mosi_label_csv)
    assert len(test) == 686
    assert F.mae(np.full_like(test, train.mean()), test) == pytest.approx(1.464, abs=5e-4)
    assert F.mae(np.zeros_like(test), test) == pytest.approx(1.417, abs=5e-4)
    nonzero = test[test != 0]
    majority = 1.0 if (nonzero > 0).mean() >= 0.5 else -1.0
    m = compute_metrics(np.full_like(test, majority), test)
    assert m["acc2_non0"] == pytest.approx(57.8, abs=0.05)
