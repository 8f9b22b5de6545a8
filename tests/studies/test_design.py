"""The studies' designs: equal tuning effort in study 1, and the generated MMSA-layout grounds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from studies.common import mmsa_ground
from studies.penalties_across_models import LAMBDA_RANGE, LR_RANGE, candidates


def test_every_arm_gets_the_same_trials_over_the_same_learning_rates() -> None:
    trials = candidates(6)
    assert len(trials) == 6 and trials[0] == (None, 0.1)  # the preset as shipped comes first
    lrs = np.array([lr for lr, _ in trials[1:]])
    lams = np.array([lam for _, lam in trials[1:]])
    assert ((lrs >= LR_RANGE[0]) & (lrs <= LR_RANGE[1])).all()
    assert ((lams >= LAMBDA_RANGE[0]) & (lams <= LAMBDA_RANGE[1])).all()
    assert len(set(lrs)) == 5 and len(set(lams)) == 5  # a design, not one value repeated
    assert candidates(3) == trials[:3]  # fewer trials are a prefix: a smaller grid is the same design


def test_an_mmsa_ground_is_generated_once_and_reused(tmp_path: Path) -> None:
    args = ("--n", "40", "--seed", "3", "--aligned", "--padding", "left", "--no-lengths",
            "--max-length", "text=6", "--max-length", "audio=6", "--max-length", "vision=6")  # fmt: skip
    path = mmsa_ground("mmsa_aligned", tmp_path, args)
    assert path.is_file() and path.parent == tmp_path
    stamp = path.stat().st_mtime_ns
    assert mmsa_ground("mmsa_aligned", tmp_path, args) == path and path.stat().st_mtime_ns == stamp
    assert (
        mmsa_ground("mmsa_aligned", tmp_path, (*args[:3], "4", *args[4:])) != path
    )  # other args, other file
