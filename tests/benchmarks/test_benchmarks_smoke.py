"""Every benchmark runs end to end in its tiny ``--smoke`` mode and writes a CSV of its table."""

from __future__ import annotations

import csv
import importlib
import math
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
MODULES = ("common", "mmim_vs_reference", "step_profile", "train_throughput", "scaling", "predict_throughput")


def _forget() -> None:
    """Drops these top-level names from sys.modules (other scripts folders have a ``common`` too)."""
    for name in MODULES:
        sys.modules.pop(name, None)


@pytest.fixture(autouse=True)
def _benchmarks_on_path() -> Iterator[None]:
    _forget()
    sys.path.insert(0, str(BENCHMARKS))
    yield
    sys.path.remove(str(BENCHMARKS))
    _forget()


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
    from mifusion.training import loader
    from mifusion.training.pipeline import prepare

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
