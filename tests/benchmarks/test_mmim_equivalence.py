"""``benchmarks/mmim_equivalence.py --smoke``: MMSA's MMIM, the parity preset and the default train on the same
data and the report states a TOST verdict for each comparison (needs MMSA; CI installs it)."""

from __future__ import annotations

import importlib
import os

import pytest


def test_smoke_run_reports_both_verdicts(benchmarks_on_path: None) -> None:
    module = importlib.import_module("mmim_equivalence")
    oracle = module.oracle()
    if not oracle.import_mmsa():
        if os.environ.get("CI"):
            pytest.fail(f"MMSA is not installed in {oracle.mmsa_dir()}")
        pytest.skip("MMSA 2.2.1 is not installed (make test installs it)")
    report = module.main(["--smoke", "--threads", "1"])
    assert "parity - MMSA: validation MAE difference" in report
    assert "default - parity: validation MAE difference" in report
    assert "margin +-0.03" in report
