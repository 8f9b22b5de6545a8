"""MMSA side by side (``benchmarks/mmsa_side.py``): the pieces that run without MMSA, and the whole
``--smoke --mmsa`` run when MMSA is importable (``PYTHONPATH=DIR`` after
``pip install --no-deps --target DIR mmsa==2.2.1 easydict nvidia-ml-py3``)."""

from __future__ import annotations

import argparse
import importlib
import math
import pickle
import types
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

pytestmark = pytest.mark.usefixtures("benchmarks_on_path")


def _module(name: str) -> ModuleType:
    return importlib.import_module(name)


def _smoke_args() -> argparse.Namespace:
    return argparse.Namespace(smoke=True, seed=0, epochs=1, threads=1, no_bucketing=False, text_only=False,
                              estimator_stage="efficient")  # fmt: skip


def test_feature_pickle_pads_audio_and_vision_to_mmsa_shapes(tmp_path: Path) -> None:
    reference, side = _module("mmim_vs_reference"), _module("mmsa_side")
    args = _smoke_args()
    data = reference.build_data(args, reference.build_config(args))
    side.write_feature_pickle(data, tmp_path / "f.pkl")
    with open(tmp_path / "f.pkl", "rb") as handle:
        feats = pickle.load(handle)
    valid = data.dataset["valid"]
    audio = feats["valid"]["audio"]
    assert audio.shape[1:] == (375, valid.sequences["audio"].shape[2]) and audio.dtype == np.float32
    assert feats["valid"]["vision"].shape[1] == 500
    width = valid.sequences["audio"].shape[1]
    assert np.array_equal(audio[:, :width], valid.sequences["audio"]) and not audio[:, width:].any()
    assert feats["valid"]["audio_lengths"] == [max(1, int(v)) for v in valid.lengths["audio"]]


def test_scheduler_shim_accepts_mmsa_verbose_argument() -> None:
    import torch

    module = types.SimpleNamespace(ReduceLROnPlateau=torch.optim.lr_scheduler.ReduceLROnPlateau)
    _module("mmsa_side")._quiet_scheduler(module)
    optimizer = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    scheduler = module.ReduceLROnPlateau(optimizer, mode="min", patience=0, factor=0.5, verbose=True)
    scheduler.step(1.0)
    scheduler.step(2.0)
    assert optimizer.param_groups[0]["lr"] == 0.5


def test_rows_split_epoch_time_into_estimator_and_main_passes() -> None:
    marks = [
        {"estimator": 2.0, "main": 3.0, "end": 16.0, "cpu_end": 20.0, "peak": 100.0, "mae": 1.2},
        {"estimator": 1.0, "main": 4.0, "end": 27.0, "cpu_end": 41.0, "peak": 150.0, "mae": 1.1},
    ]
    rows = _module("mmsa_side")._rows(marks, 10, start=10.0, cpu_start=10.0)
    assert [r["samples_per_s"] for r in rows] == [2.0, 2.0]
    assert [r["epoch_wall_seconds_incl_valid"] for r in rows] == [6.0, 11.0]
    assert [r["epoch_cpu_seconds_incl_valid"] for r in rows] == [10.0, 21.0]
    assert [r["valid_mae"] for r in rows] == [1.2, 1.1]


def test_smoke_side_by_side_trains_mmsa_when_installed(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    if not _module("mmsa_side").available():
        pytest.skip("mmsa is not importable (pip install --no-deps --target DIR mmsa==2.2.1; PYTHONPATH=DIR)")
    rows = _module("mmim_vs_reference").main(["--smoke", "--threads", "1", "--out", str(tmp_path), "--mmsa"])
    assert [r["framework"] for r in rows] == ["mifusion", "MMSA 2.2.1 (measured)"]
    theirs = rows[1]
    assert theirs["samples_per_s"] > 0 and math.isfinite(theirs["valid_mae"]) and theirs["peak_rss_mb"] > 0
    total = theirs["estimator_pass_seconds"] + theirs["main_pass_seconds"]
    assert math.isclose(theirs["train_seconds"], total)
    assert "mifusion / MMSA samples/s measured in this run" in capsys.readouterr().out
