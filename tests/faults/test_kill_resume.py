"""At least 20 SIGKILLs at random points of training and of checkpoint writes; after each the run directory
loads, ``--resume`` continues it (cleaning the killed writers' temp files), and the final metrics equal an
uninterrupted run's."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mifusion.cli import main
from mifusion.config import load
from mifusion.experiments.run_guard import stale_temp_files
from mifusion.training.checkpoint import load_checkpoint
from mifusion.writers import read_rows_csv

KILLS = 20
TRAIN = [
    "train", "--preset", "synth_lf_dnn", "--quiet", "--seeds", "7", "--set", "data.synth.n=60",
    "train.epochs=8", "train.batch_size=16", "model.hidden_dim=8", "train.num_threads=1",
    "train.early_stopping_patience=100",
]  # fmt: skip
# The child dies at the k-th training step, or inside the k-th checkpoint write (temp file written, not
# yet renamed): each kill loses at most one step, so 8 epochs of 3 steps outlast 20 kills.
CHILD = """
import os, signal, sys
import torch
import mifusion.training.trainer as trainer
from mifusion.writers import atomic_write_bytes
mode, k = sys.argv[1], int(sys.argv[2])
count = {"step": 0, "save": 0}
real_step, real_save = trainer.train_step, trainer.save_checkpoint
def step(*args, **kwargs):
    count["step"] += 1
    if mode == "step" and count["step"] == k:
        os.kill(os.getpid(), signal.SIGKILL)
    return real_step(*args, **kwargs)
def save(path, state):
    count["save"] += 1
    if mode == "save" and count["save"] == k:
        def write(handle):
            torch.save(state, handle)
            handle.flush()
            os.kill(os.getpid(), signal.SIGKILL)
        atomic_write_bytes(path, write)
    return real_save(path, state)
trainer.train_step, trainer.save_checkpoint = step, save
from mifusion.cli import main
sys.exit(main(sys.argv[3:]))
"""


def _check_loads(run: Path) -> None:
    """What a killed run leaves must load: config, checkpoints, metrics."""
    load(run / "config.yaml")
    seed = run / "seed_7"
    for name in ("last.pt", "best.pt"):
        if (seed / name).exists():
            load_checkpoint(seed / name)
    if (seed / "metrics.csv").exists():
        read_rows_csv(seed / "metrics.csv")


@pytest.mark.slow
def test_twenty_sigkills_then_resume_equals_an_uninterrupted_run(tmp_path: Path) -> None:
    straight, run = tmp_path / "straight", tmp_path / "killed"
    assert main([*TRAIN, "--out", str(straight)]) == 0
    rng = np.random.default_rng(0)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    kills, attempts = 0, 0
    while True:
        attempts += 1
        assert attempts < 3 * KILLS, "the run never finished"
        mode = "none" if kills >= KILLS else str(rng.choice(["step", "save"]))
        k = int(rng.integers(1, 3))
        argv = [*TRAIN, "--out", str(run)] if attempts == 1 else ["train", "--resume", str(run), "--quiet"]
        child = subprocess.run(
            [sys.executable, "-c", CHILD, mode, str(k), *argv, "--checkpoint-every", "1"],
            env=env, capture_output=True, timeout=300,
        )  # fmt: skip
        if child.returncode == 0:
            break
        assert child.returncode == -signal.SIGKILL, child.stderr.decode()[-2000:]
        kills += 1
        _check_loads(run)
    assert kills >= KILLS
    assert stale_temp_files(run) == [], "temp files of killed writers were left behind"
    done = json.loads((run / "results.json").read_text())["runs"][0]
    expected = json.loads((straight / "results.json").read_text())["runs"][0]
    assert done["test"] == expected["test"] and done["best_epoch"] == expected["best_epoch"]
    assert len(read_rows_csv(run / "seed_7" / "metrics.csv")) == 8  # no epoch lost or repeated
