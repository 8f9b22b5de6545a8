"""Checkpoints: atomic, weights_only, and resume after SIGKILL mid-epoch reaches the same metrics."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from tiny_training_model import install, tiny_config

from mifusion.config import to_dict
from mifusion.experiments.runner import train_one

HERE = Path(__file__).parent

SCRIPT = """
import os, signal, sys, json
sys.path.insert(0, {here!r})
import tiny_training_model as t
from mifusion.config import from_dict, ExperimentConfig
import mifusion.experiments.runner as runner
t.install()
kill_at = {kill_at}
original = t.TinyModel.forward
def forward(self, batch):
    if self.training and self.calls + 1 == kill_at:
        os.kill(os.getpid(), signal.SIGKILL)
    return original(self, batch)
t.TinyModel.forward = forward
cfg = from_dict(ExperimentConfig, json.loads({cfg!r}))
runner.train_one(cfg, {out!r}, 5, checkpoint_every=2)
"""


def test_resume_after_sigkill_mid_epoch_matches_uninterrupted(tmp_path: Path, monkeypatch) -> None:
    cfg = tiny_config(epochs=3, modality_dropout=0.2)
    killed = tmp_path / "killed"
    # 6 batches per epoch: call 10 is the 4th batch of epoch 2, after the checkpoint at step 2.
    code = SCRIPT.format(here=str(HERE), kill_at=10, cfg=json.dumps(to_dict(cfg)), out=str(killed))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True, timeout=120
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]
    state = torch.load(killed / "last.pt", weights_only=True)["trainer"]
    assert (state["epoch"], state["step"]) == (1, 2)
    assert not (killed / "results.json").exists()

    install(monkeypatch)
    resumed = train_one(cfg, killed, 5, resume=True)
    straight = train_one(cfg, tmp_path / "straight", 5)
    assert resumed.test == straight.test
    assert resumed.best_epoch == straight.best_epoch and resumed.epochs_run == 3
    rows = (killed / "metrics.csv").read_text().splitlines()
    assert len(rows) == 4  # header + 3 epochs, none duplicated


def test_checkpoint_is_atomic_and_rejects_pickled_objects(tmp_path: Path) -> None:
    from mifusion.errors import DataError
    from mifusion.training.checkpoint import load_checkpoint, save_checkpoint

    save_checkpoint(tmp_path / "a.pt", {"x": torch.ones(2), "n": 3})
    assert load_checkpoint(tmp_path / "a.pt")["n"] == 3
    assert [p.name for p in tmp_path.iterdir()] == ["a.pt"]
    torch.save({"bad": object()}, tmp_path / "b.pt")
    with pytest.raises(DataError, match="cannot read checkpoint"):
        load_checkpoint(tmp_path / "b.pt")
