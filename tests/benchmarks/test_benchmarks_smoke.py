"""Every benchmark runs end to end in its tiny ``--smoke`` mode and writes a CSV of its table."""

from __future__ import annotations

import csv
import importlib
import math
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

pytestmark = pytest.mark.usefixtures("benchmarks_on_path")


def _module(name: str) -> ModuleType:
    return importlib.import_module(name)


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize(
    ("name", "rate_key"),
    [
        ("mmim_vs_reference", "samples_per_s"),
        ("train_throughput", "samples_per_s"),
        ("scaling", "samples_per_s"),
        ("predict_throughput", "samples_per_s"),
        ("gpu_epoch", "samples_per_s"),
    ],
)
def test_smoke_run_writes_its_table(name: str, rate_key: str, tmp_path: Path) -> None:
    rows = _module(name).main(["--smoke", "--threads", "1", "--out", str(tmp_path)])
    assert rows
    for row in rows:
        assert "error" not in row, row
        assert math.isfinite(row[rate_key]) and row[rate_key] > 0
    written = _csv_rows(tmp_path / f"{name}.csv")
    assert len(written) == len(rows)


def test_mmim_vs_reference_reports_mae_memory_and_ratio(tmp_path: Path) -> None:
    (row,) = _module("mmim_vs_reference").main(["--smoke", "--threads", "1", "--out", str(tmp_path)])
    assert row["epoch"] == 1 and row["train_samples"] > 0
    assert 0 < row["valid_mae"] < 10
    assert row["peak_rss_mb"] > 0
    assert row["ratio_vs_mmsa_10.8"] == pytest.approx(row["samples_per_s"] / 10.8)


def test_step_profile_text_encoder_runs_once_per_step(tmp_path: Path) -> None:
    rows = _module("step_profile").main(["--smoke", "--threads", "1", "--out", str(tmp_path)])
    ratios = {r["region"]: r["ms_per_step"] for r in rows if r["model"] == "ratio"}
    assert ratios["text encoder forwards per step (target 1)"] == 1
    assert ratios["text encoder backwards per step (target 1)"] == 1
    mmim = {r["region"]: r["ms_per_step"] for r in rows if r["model"] == "mmim"}
    assert mmim["TOTAL step (incl. data)"] > mmim["forward: text encoder"] > 0
    assert any(k.strip().startswith("MI term: CPC") for k in mmim)
    assert (tmp_path / "step_profile.csv").exists()


def test_fixed_text_padding_pads_tokens_and_restores_collate(tiny_dataset) -> None:  # type: ignore[no-untyped-def]
    from mifusion.config import load
    from mifusion.data import loader
    from mifusion.experiments.pipeline import prepare

    reference = _module("mmim_vs_reference")
    cfg = load(None, [f"model.text.{k}={v}" for k, v in _module("common").tiny_text_encoder().items()])
    split = prepare(tiny_dataset, cfg).dataset["train"]
    original = loader.collate
    with reference.fixed_text_padding(50):
        batch = next(loader.iterate(split, [np.arange(4)], ("text", "audio")))
    assert loader.collate is original
    assert batch.token_ids.shape == (4, 50)
    assert batch.token_mask.sum(dim=1).tolist() == split.token_lengths[:4].tolist()


def test_markdown_table_and_csv_round_trip(tmp_path: Path) -> None:
    common = _module("common")
    rows = [{"a": 1, "b": 0.5}, {"a": 2, "c": "x"}]
    table = common.markdown_table(rows).splitlines()
    assert table[0] == "| a | b | c |" and len(table) == 4
    written = _csv_rows(common.write_csv(tmp_path / "t.csv", rows))
    assert written == [{"a": "1", "b": "0.5", "c": ""}, {"a": "2", "b": "", "c": "x"}]


def test_peak_memory_grows_with_an_allocation() -> None:
    common = _module("common")
    common.reset_peak()
    before = common.peak_rss_mb()
    block = np.ones(64 * 2**20 // 8)  # 64 MB touched
    assert common.peak_rss_mb() >= before + 32
    del block


def test_time_to_mae_stops_at_the_target_and_reports_the_median(tmp_path: Path) -> None:
    reference = _module("mmim_vs_reference")
    args = ["--smoke", "--threads", "1", "--out", str(tmp_path), "--seeds", "1", "2"]
    reached = reference.main([*args, "--to-mae", "100"])  # any MAE reaches 100: one epoch per seed
    assert [r["seed"] for r in reached] == [1, 2, "median"]
    assert all(r["reached"] is True and r["epochs"] == 1 for r in reached[:2])
    assert reached[2]["reached"] == "2/2" and reached[2]["wall_seconds"] > 0
    missed = reference.main([*args[:-1], "--to-mae", "0", "--max-epochs", "2"])  # never reached: 2 epochs
    assert missed[0]["reached"] is False and missed[0]["epochs"] == 2
    assert len(missed[0]["valid_mae_per_epoch"].split()) == 2
    assert len(_csv_rows(tmp_path / "mmim_time_to_mae.csv")) == 2


def test_text_only_baseline_runs_the_same_settings_without_audio_and_vision(tmp_path: Path) -> None:
    (row,) = _module("mmim_vs_reference").main(
        ["--smoke", "--threads", "1", "--out", str(tmp_path), "--text-only"]
    )
    assert row["framework"] == "mifusion text-only" and 0 < row["valid_mae"] < 10


def test_mmsa_side_by_side_skips_in_one_line_without_mmsa(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    if _module("mmsa_side").available():
        pytest.skip("mmsa is installed: the side-by-side run is not a smoke test")
    rows = _module("mmim_vs_reference").main(["--smoke", "--threads", "1", "--out", str(tmp_path), "--mmsa"])
    assert [r["framework"] for r in rows] == ["mifusion"]
    assert "MMSA side by side skipped" in capsys.readouterr().out


def test_mmsa_feature_pickle_has_mmsa_layout(tmp_path: Path) -> None:
    import argparse
    import pickle

    reference, side = _module("mmim_vs_reference"), _module("mmsa_side")
    args = argparse.Namespace(smoke=True, seed=0, epochs=1, threads=1, no_bucketing=False, text_only=False,
                              estimator_stage="efficient")  # fmt: skip
    data = reference.build_data(args, reference.build_config(args))
    side.write_feature_pickle(data, tmp_path / "f.pkl")
    with open(tmp_path / "f.pkl", "rb") as handle:
        feats = pickle.load(handle)
    train = data.dataset["train"]
    assert feats["train"]["text_bert"].shape == (len(train), 3, 50)
    assert feats["train"]["text_bert"][:, 1].sum(axis=1).tolist() == train.token_lengths.tolist()
    assert (
        feats["valid"]["audio"].shape[0] == len(feats["valid"]["audio_lengths"]) == len(data.dataset["valid"])
    )
    assert np.allclose(feats["test"]["regression_labels"], data.dataset["test"].labels)


def test_memory_profile_traces_every_step_and_epoch(tmp_path: Path) -> None:
    rows = _module("memory_profile").main(
        ["--smoke", "--threads", "1", "--out", str(tmp_path), "--malloc-trim"]
    )
    assert [r["epoch"] for r in rows] == [1, 2] and rows[0]["peak_vs_epoch1_pct"] == 0
    assert all(
        r["peak_after_epoch_mb"] >= r["peak_after_train_mb"] > 0 and r["live_tensor_mb"] > 0 for r in rows
    )
    trace = _csv_rows(tmp_path / "memory_trace.csv")
    steps = [int(t["step"]) for t in trace if t["epoch"] == "1"]
    assert steps == list(range(1, len(steps) + 1)) and len(steps) > 1
    assert rows[0]["longest_batch_tokens"] == max(int(t["text_tokens"]) for t in trace if t["epoch"] == "1")


def test_gpu_epoch_flop_count_and_peak_lookup() -> None:
    gpu = _module("gpu_epoch")
    # one 1-layer encoder, hidden 2, FFN 4, one batch of 3 tokens: dense 2*(16+16)*3, attention 2*2*2*9
    assert gpu.encoder_flops(3, 9, hidden=2, layers=1, ffn=4) == 3.0 * (192 + 72)
    assert gpu.device_peak("NVIDIA H100 80GB HBM3", None) == 989.0
    assert gpu.device_peak("NVIDIA H100 80GB HBM3", 500.0) == 500.0
    assert gpu.device_peak("Some Future GPU", None) is None
