"""A checkpoint that predicts NaN is refused with its cause; no NaN result or CSV is written."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from mifusion.cli import main
from mifusion.config import load
from mifusion.experiments.runner import run_experiment
from mifusion.training.checkpoint import load_checkpoint, save_checkpoint

TINY = ["model.name=lf_dnn", "model.hidden_dim=8", "data.synth.n=40", "train.epochs=1", "train.num_threads=1"]


@pytest.fixture(scope="module")
def nan_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("nan") / "run"
    run_experiment(load(None, [*TINY, "train.seeds=[1]"]), out)
    best = out / "seed_1" / "best.pt"
    state = load_checkpoint(best)
    state["model"] = {k: torch.full_like(v, float("nan")) if v.is_floating_point() else v
                      for k, v in state["model"].items()}  # fmt: skip
    save_checkpoint(best, state)
    return out


def test_predict_refuses_nan_predictions_and_writes_nothing(
    nan_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from mifusion.data.safe_format import save_safe
    from mifusion.data.synthetic import generate

    save_safe(generate("mosi", n=40, seed=0), tmp_path / "data")
    out = tmp_path / "pred.csv"
    capsys.readouterr()
    assert main(["predict", str(nan_run), str(tmp_path / "data"), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "non-finite" in err and "best.pt" in err
    assert not out.exists()


def test_evaluate_refuses_nan_predictions(nan_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["evaluate", str(nan_run)]) == 2
    assert "non-finite" in capsys.readouterr().err


def test_training_into_a_run_being_written_is_refused(nan_run: Path) -> None:
    from mifusion.errors import ConfigError
    from mifusion.experiments.run_guard import claim

    with (
        claim(nan_run, resume=True),  # another writer holds the run
        pytest.raises(ConfigError, match="another mifusion process"),
    ):
        run_experiment(load(nan_run / "config.yaml", ["train.epochs=2"]), nan_run, resume=True)
