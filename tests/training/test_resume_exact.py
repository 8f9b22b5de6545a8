"""Exact resume (MMIM; a penalised model; schedule + layer decay + weight average): SIGKILL at 5 random steps,
resume each time, same result.

Each run is a forked child process (one thread) that trains with a checkpoint after every step
(``checkpoint_every=1``) and kills itself with SIGKILL at the start of its N-th optimisation step, N drawn
at random (fixed seed) among the steps of both passes: the separate estimator pass (MMIM) and the main
pass. After five kills the run is resumed to the end; its validation and test metrics, best epoch and
predictions must equal those of an uninterrupted run bit for bit. The entropy memory, the batch index,
MINE's moving average and every optimiser and RNG state must therefore be in ``last.pt``.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import signal
from pathlib import Path

import pytest

from mifusion.config import ExperimentConfig, from_dict, to_dict


def _train(cfg_json: str, out: str, kill_at: int, resume: bool) -> None:
    """A forked child's body: trains, killing itself with SIGKILL at its ``kill_at``-th step (0: never)."""
    import torch

    import mifusion.training.trainer as trainer
    from mifusion.data.synthetic import SynthParams, generate
    from mifusion.experiments.pipeline import prepare
    from mifusion.experiments.runner import train_one

    torch.set_num_threads(1)
    calls = {"n": 0}

    def killing(step):  # type: ignore[no-untyped-def]
        def wrapped(*args, **kwargs):  # type: ignore[no-untyped-def]
            calls["n"] += 1
            if calls["n"] == kill_at:
                os.kill(os.getpid(), signal.SIGKILL)
            return step(*args, **kwargs)

        return wrapped

    trainer.train_step = killing(trainer.train_step)  # type: ignore[assignment]
    trainer.estimator_pass_step = killing(trainer.estimator_pass_step)  # type: ignore[assignment]
    cfg = from_dict(ExperimentConfig, json.loads(cfg_json))
    lengths = {"text": 12, "audio": 20, "vision": 24}
    data = prepare(generate("mosi", n=48, seed=0, params=SynthParams(max_lengths=lengths)), cfg)
    train_one(cfg, Path(out), 3, data=data, resume=resume, checkpoint_every=1)


TINY_TEXT = {"hidden_size": 16, "num_layers": 1, "num_heads": 2, "intermediate_size": 32}
CASES = {
    "mmim_separate_pass": {
        "model": {
            "name": "mmim",
            "dropout": 0.1,
            "text": TINY_TEXT,
            "sequence": {"hidden_dim": 8, "output_dim": 8},
        },
        "train": {"estimator_stage": "separate_pass"},
    },
    "lf_dnn_mine": {
        "model": {
            "name": "lf_dnn",
            "dropout": 0.1,
            "text": TINY_TEXT,
            "sequence": {"hidden_dim": 8, "output_dim": 8},
        },
        "penalty": {"estimator": "mine", "weight": 0.1, "critic_hidden": 16},
        "train": {"modality_dropout": 0.2},
    },
    "lf_dnn_schedule_layer_decay_ema": {  # the per-step schedule and the weight average must resume too
        "model": {"name": "lf_dnn", "dropout": 0.1, "text": TINY_TEXT, "sequence": {"hidden_dim": 8}},
        "train": {"lr_schedule": "linear", "warmup_fraction": 0.2, "text_lr_decay": 0.8, "ema_decay": 0.9},
    },
}


def _config(case: str) -> ExperimentConfig:
    raw = json.loads(json.dumps(CASES[case]))
    raw["train"].update(epochs=4, batch_size=8, num_threads=1, device="cpu", early_stopping_patience=10)
    return from_dict(ExperimentConfig, raw)


def _child(cfg: ExperimentConfig, out: Path, kill_at: int, resume: bool) -> int:
    """Runs :func:`_train` in a forked process (cheap: torch is already imported); its exit code."""
    process = multiprocessing.get_context("fork").Process(
        target=_train, args=(json.dumps(to_dict(cfg)), str(out), kill_at, resume)
    )
    process.start()
    process.join(timeout=300)
    assert process.exitcode in (0, -signal.SIGKILL), f"child exit code {process.exitcode}"
    return int(process.exitcode)


def _results(run: Path) -> dict:  # type: ignore[type-arg]
    result = json.loads((run / "results.json").read_text())["run"]
    return {k: result[k] for k in ("best_epoch", "epochs_run", "valid", "test")}


@pytest.mark.parametrize("case", sorted(CASES))
def test_five_sigkills_then_resume_equals_an_uninterrupted_run(case: str, tmp_path: Path) -> None:
    cfg = _config(case)
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    assert _child(cfg, straight, kill_at=0, resume=False) == 0
    rng = random.Random(f"resume-{case}")
    kills = 0
    for attempt in range(5):
        code = _child(cfg, killed, kill_at=rng.randint(2, 4), resume=attempt > 0)
        if code == 0:
            break
        kills += 1
        assert not (killed / "results.json").exists()
    assert kills == 5, "every attempt was killed before the run could finish"
    assert _child(cfg, killed, kill_at=0, resume=True) == 0
    assert _results(killed) == _results(straight)
    assert (killed / "test_predictions.csv").read_text() == (straight / "test_predictions.csv").read_text()
    rows = (killed / "metrics.csv").read_text().splitlines()
    assert len(rows) == 1 + cfg.train.epochs  # header + one row per epoch, none duplicated
