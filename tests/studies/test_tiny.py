"""Every claim study runs end to end in --tiny mode through ``python -m studies`` (so the commands cannot rot)."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from studies.__main__ import main as studies_main


@pytest.mark.parametrize(
    ("study", "expect"),
    [
        ("penalties_across_models", ["lf_dnn + js vs lf_dnn base", "ridge, time-averaged features"]),
        ("robustness", ["-audio (masked): lf_dnn-js vs -audio (masked): lf_dnn-base", "(zeroed)"]),
        ("mmim_ablations", ["full vs no-BA", "full vs plain-fusion", "full vs xavier-init", "text-only"]),
        ("interpretability", ["lf_dnn + js", "AUROC", "target AUROC >= 0.9"]),
        ("grounds", ["audio_signal", "ridge test Corr"]),
        (
            "controls",
            ["shuffled audio+vision vs text-only", "permuted labels vs constant floor", "positive: + js"],
        ),
    ],
)
def test_tiny_study_writes_report(study: str, expect: list[str], tmp_path: Path) -> None:
    assert studies_main([study, "--tiny", "--out", str(tmp_path)]) == 0
    report = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert report.startswith("**TINY MODE")
    for text in expect:
        assert text in report
    if study != "grounds":
        assert any(f"| {v} |" in report for v in ("holds", "fails", "inconclusive"))


def test_real_text_collects_seed_results_into_mean_std(tmp_path: Path) -> None:
    import json

    module = importlib.import_module("studies.real_text")
    keys = module.METRICS
    for seed, mae in ((1, 0.70), (2, 0.80)):
        test = {k: (mae if k == "mae" else 50.0 + seed) for k in keys}
        run = {"seed": seed, "best_epoch": 3, "wall_seconds": 60.0, "test": test, "valid": test}
        (tmp_path / f"seed_{seed}").mkdir()
        (tmp_path / f"seed_{seed}" / "results.json").write_text(json.dumps({"run": run}))
    tests, valids = module.collect(tmp_path)
    assert [r["seed"] for r in tests] == [1, 2]
    table = module.table(tests, valids)
    assert "0.750 +- 0.071" in table  # mean and ddof=1 std of 0.70, 0.80
    assert "plain fine-tune" in table and "floor: predict 0" in table


def test_mmim_ablations_arms_restricts_the_family(tmp_path: Path) -> None:
    assert studies_main(["mmim_ablations", "--tiny", "--arms", "plain-fusion", "--out", str(tmp_path)]) == 0
    report = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "full vs plain-fusion" in report and "text-only" in report
    assert "no-BA" not in report and "separate-pass" not in report
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == ["full", "plain-fusion", "text-only"]
    assert "## Arms: config and code hashes" in report and "| plain-fusion | " in report


def test_unknown_study_is_one_line_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert studies_main(["nope"]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    assert studies_main(["list"]) == 0 and "penalties_across_models" in capsys.readouterr().out


def test_semi_ground_is_built_once_from_real_text_as_frozen_features(
    tmp_path: Path, mosi_label_csv: Path, tiny_encoder_dir: str
) -> None:
    from mifusion.data.io import load_dataset
    from mifusion.data.spec import data_spec
    from studies import common

    path = common.semi_ground(mosi_label_csv, tiny_encoder_dir, tmp_path)
    ds = load_dataset(path)
    assert [len(s) for s in ds] == [1284, 229, 686]  # the standard MOSI folds
    assert data_spec(ds).text_kind == "features" and ds.feature_dims()["text"] == 8
    assert ds.meta["text_features"]["encoder"] == tiny_encoder_dir
    stamp = (path / "manifest.json").stat().st_mtime_ns
    assert common.semi_ground(mosi_label_csv, tiny_encoder_dir, tmp_path) == path  # reused, not rebuilt
    assert (path / "manifest.json").stat().st_mtime_ns == stamp


def test_real_text_paired_report_differences_the_arms_seed_by_seed(tmp_path: Path) -> None:
    import json

    module = importlib.import_module("studies.real_text")
    arms = {"anchor": {1: 0.80, 2: 0.76, 3: 0.78}, "recipe": {1: 0.75, 2: 0.73, 3: 0.74, 4: 0.70}}
    for arm, maes in arms.items():
        for seed, mae in maes.items():
            acc = 86.0 if arm == "recipe" else 84.0
            test = {k: (mae if k == "mae" else acc + seed) for k in module.METRICS}
            run = {"seed": seed, "best_epoch": 3, "wall_seconds": 60.0, "test": test, "valid": test}
            (tmp_path / arm / f"seed_{seed}").mkdir(parents=True)
            (tmp_path / arm / f"seed_{seed}" / "results.json").write_text(json.dumps({"run": run}))
    report = module.paired_report(tmp_path)
    assert "Paired over seeds 1, 2, 3" in report  # seed 4 has no anchor: left out
    # per-seed differences -0.05, -0.03, -0.04: mean -0.040, sd 0.010, t = -6.93 on 2 df, p = 0.020
    assert "| mae | 0.780 +- 0.020 | 0.740 +- 0.010 | -0.040 | [-0.065, -0.015] | 0.020 |" in report
    assert "| acc2_non0 | 86.0 +- 1.0 | 88.0 +- 1.0 | +2.0 |" in report
    assert "NOT met" not in report and "met (fewer than 5 seeds: not a verdict)" in report
