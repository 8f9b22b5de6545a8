"""CLI smoke tests of train / evaluate / predict / compare / list / show-config on tiny synthetic runs."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from mifusion.cli import main

TINY = [
    "--preset", "synth_lf_dnn", "--quiet", "--set", "data.synth.n=150", "train.epochs=2",
    "model.hidden_dim=16", "train.batch_size=16",
]  # fmt: skip


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("runs")
    out = {"base": root / "base", "js": root / "js"}
    assert main(["train", *TINY, "--seeds", "1", "2", "--out", str(out["base"])]) == 0
    assert main(["train", *TINY, "--penalty", "js", "--seeds", "1", "2", "--out", str(out["js"])]) == 0
    return out


def test_train_writes_a_complete_run_directory(
    runs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    base = runs["base"]
    for name in ("config.yaml", "results.json", "results.md"):
        assert (base / name).exists()
    seed = base / "seed_1"
    for name in ("config.yaml", "spec.json", "feature_stats.json", "metrics.csv", "best.pt", "results.json",
                 "test_predictions.csv", "plots/learning_curves.png", "plots/terms.png",
                 "plots/predictions.png", "plots/confusion_acc7.png"):  # fmt: skip
        assert (seed / name).exists(), name
    assert list((seed / "tensorboard").iterdir())
    results = json.loads((base / "results.json").read_text())
    assert [r["seed"] for r in results["runs"]] == [1, 2]
    assert set(results["summary"]["test"]["mae"]) == {"mean", "std"}
    with (runs["js"] / "seed_1" / "metrics.csv").open() as handle:
        header = next(csv.reader(handle))
    assert {"train/penalty", "train/weighted/penalty", "train/estimator_loss", "valid/mae"} <= set(header)
    assert "mean ± std" in (base / "results.md").read_text()


def test_evaluate_json_matches_training_results(
    runs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["evaluate", str(runs["base"] / "seed_1"), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    saved = json.loads((runs["base"] / "seed_1" / "results.json").read_text())["run"]["test"]
    assert data["metrics"]["mae"] == pytest.approx(saved["mae"], abs=1e-5)


def test_robustness_reports_both_drop_definitions(
    runs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["evaluate", str(runs["base"]), "--robustness", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["conditions"]
    kinds = {(r["condition"], r["definition"]) for r in rows}
    assert {
        ("-audio", "masked"),
        ("-audio", "zeroed"),
        ("-text-vision", "masked"),
        ("noise 0.5", "noise"),
    } <= kinds
    assert rows[0]["delta_mae"] == 0.0
    assert (runs["base"] / "seed_1" / "robustness" / "robustness.png").exists()


def test_predict_writes_ids_predictions_and_labels(runs: dict[str, Path], tmp_path: Path) -> None:
    from mifusion.data.safe_format import save_safe
    from mifusion.data.synthetic import generate

    save_safe(generate("mosi", n=150, seed=0), tmp_path / "data")
    out = tmp_path / "pred.csv"
    assert main(["predict", str(runs["base"]), str(tmp_path / "data"), "--out", str(out)]) == 0
    with out.open() as handle:
        rows = list(csv.DictReader(handle))
    saved = [
        list(csv.DictReader((runs["base"] / f"seed_{s}" / "test_predictions.csv").open())) for s in (1, 2)
    ]
    assert [r["id"] for r in rows] == [r["id"] for r in saved[0]]
    ensemble = (float(saved[0][0]["prediction"]) + float(saved[1][0]["prediction"])) / 2  # mean over seeds
    assert float(rows[0]["prediction"]) == pytest.approx(ensemble, abs=1e-5)
    assert main(["predict", str(runs["base"]), str(tmp_path / "data"), "--out", str(out), "--seed", "2"]) == 0
    with out.open() as handle:
        assert float(next(csv.DictReader(handle))["prediction"]) == pytest.approx(
            float(saved[1][0]["prediction"]), abs=1e-5
        )


def test_compare_pairs_by_seed(runs: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", str(runs["base"]), str(runs["js"]), "--baseline", str(runs["base"])]) == 0
    out = capsys.readouterr().out
    assert "Paired difference" in out and f"| {runs['js']} | mae |" in out and "| 2 |" in out
    assert "Holm over 1 comparison(s)" in out and "TOST" not in out and "bootstrap" not in out


def test_compare_tests_equivalence_and_bootstraps_clips(
    runs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    args = [
        "compare",
        str(runs["js"]),
        "--baseline",
        str(runs["base"]),
        "--margin",
        "0.5",
        "--bootstrap",
        "50",
    ]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "TOST equivalence, margin ±0.5" in out and f"- {runs['js']}: " in out
    assert (
        "hierarchical bootstrap over seeds x test clips (50 replicates)" in out
        and "percentile interval" in out
    )


@pytest.mark.parametrize(
    ("extra", "message"),
    [(["--metric", "loss"], "--metric loss"), (["--alpha", "0.7"], "--alpha"), (["--margin", "-1"], "--margin"),
     (["--bootstrap", "-2"], "--bootstrap"), (["--baseline", "/nonexistent/run"], "no results.json"),
     (["--bootstrap", "10", "--split", "valid"], "--bootstrap resamples"),
     (["--bootstrap", "10", "--metric", "acc7"], "--bootstrap resamples")],
)  # fmt: skip
def test_compare_refuses_bad_settings_in_one_line(
    runs: dict[str, Path], capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    base = [] if "--baseline" in extra else ["--baseline", str(runs["base"])]
    assert main(["compare", str(runs["js"]), *base, *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_list_show_config_and_config_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "presets"]) == 0
    assert "mosi_mmim" in capsys.readouterr().out
    assert main(["show-config", "--preset", "mosi_text", "--set", "train.epochs=3"]) == 0
    assert "epochs: 3" in capsys.readouterr().out
    assert main(["show-config", "--set", "train.epochz=3"]) == 2
    assert "unknown key" in capsys.readouterr().err
    assert main(["train", "--set", "train.epochs=abc", "--quiet"]) == 2
    assert main(["train", "--preset", "nope"]) == 2
    assert main(["evaluate", "/nonexistent/run"]) == 2


def test_resume_retrains_only_unfinished_seeds(runs: dict[str, Path], tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(runs["base"], copy)
    (copy / "seed_2" / "results.json").unlink()
    (copy / "seed_2" / "last.pt").unlink()
    (copy / "seed_2" / "best.pt").unlink()
    (copy / "seed_2" / "metrics.csv").unlink()
    (copy / "seed_1" / "best.pt").unlink()  # a finished seed is read back, never retrained
    assert main(["train", "--resume", str(copy), "--quiet"]) == 0
    assert not (copy / "seed_1" / "best.pt").exists()
    before = json.loads((runs["base"] / "results.json").read_text())["summary"]["test"]
    after = json.loads((copy / "results.json").read_text())["summary"]["test"]
    assert after["mae"]["mean"] == pytest.approx(before["mae"]["mean"], abs=1e-6)


@pytest.mark.slow
def test_default_train_trains_mmim_on_synthetic_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import time

    start = time.perf_counter()
    assert main(["train", "--quiet", "--out", str(tmp_path / "demo")]) == 0
    assert time.perf_counter() - start < 120
    assert "| seed 1111 |" in capsys.readouterr().out
    results = json.loads((tmp_path / "demo" / "results.json").read_text())
    assert results["summary"]["test"]["mae"]["mean"] < 1.0  # the training-mean floor is about 1.3 here


def test_repeated_set_flags_accumulate(capsys: pytest.CaptureFixture[str]) -> None:
    from mifusion.cli import main

    assert main(["show-config", "--set", "train.epochs=3", "--set", "train.lr=0.01"]) == 0
    out = capsys.readouterr().out
    assert "epochs: 3" in out and "lr: 0.01" in out
