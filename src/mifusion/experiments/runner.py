"""Train one seed (:func:`train_one`) or all configured seeds (:func:`run_experiment`) into a run dir.

Example (a trained run is a folder; see docs/training.md)::

    result = run_experiment(load(None), Path("runs/demo"))
    print(result.summary["test"]["mae"])
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from mifusion.config import ExperimentConfig
from mifusion.data.prepared import PreparedData
from mifusion.errors import TrainingError
from mifusion.experiments.build import build_trainer
from mifusion.experiments.pipeline import prepare_data
from mifusion.experiments.run_dir import EpochLog, write_config, write_spec
from mifusion.models.base import FusionModel
from mifusion.training.callbacks import Callback, EpochCallback, EpochMetrics
from mifusion.training.distributed import launch, resolve_device
from mifusion.training.seed import seed_everything
from mifusion.training.threads import configure_threads
from mifusion.writers import write_json

if TYPE_CHECKING:
    from lightning_fabric import Fabric

__all__ = [
    "ExperimentResult",
    "RunResult",
    "build",
    "preflight",
    "resolve_device",
    "run_experiment",
    "summarize",
    "train_one",
]

log = logging.getLogger(__name__)


@dataclass
class RunResult:
    """One seed's outcome (also saved as ``results.json`` in its run directory)."""

    seed: int
    run_dir: str
    best_epoch: int
    valid: dict[str, float]
    test: dict[str, float]
    epochs_run: int
    wall_seconds: float
    nonfinite_steps: int = 0


@dataclass
class ExperimentResult:
    """All seeds of an experiment with mean and standard deviation per metric."""

    run_dir: str
    runs: list[RunResult]
    summary: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)


def build(cfg: ExperimentConfig, data: PreparedData) -> FusionModel:
    """Builds the configured model for ``data.spec``."""
    from mifusion.models.build import build_model

    return build_model(cfg.model, cfg.penalty, data.spec)


def train_one(
    cfg: ExperimentConfig,
    out_dir: Path,
    seed: int,
    epoch_callback: EpochCallback | None = None,
    *,
    data: PreparedData | None = None,
    resume: bool = False,
    checkpoint_every: int | None = None,
    progress: bool = False,
    fabric: Fabric | None = None,
    extra_callbacks: Sequence[Callback] = (),
) -> RunResult:
    """Trains one seed into ``out_dir``, selects on validation and evaluates test once.

    Args:
        cfg: the experiment config.
        out_dir: the seed's run directory (created).
        seed: seeds python, numpy, torch, the sampler and modality dropout.
        epoch_callback: gets (epoch, validation metrics) each epoch; may raise to stop (pruning).
        data: already prepared data (reused across seeds), else prepared from ``cfg``.
        resume: continue from ``out_dir/last.pt`` when it exists.
        checkpoint_every: save a resumable checkpoint every this many steps, mid-epoch too.
        progress: tqdm progress bars.
        fabric: a launched Fabric (device, precision, DDP under torchrun); None launches one from ``cfg``.
        extra_callbacks: more trainer callbacks (profiling), after the run's own logging and pruning.
    """
    from mifusion.evaluation.evaluate import compute, predict_split
    from mifusion.evaluation.plots import write_run_plots
    from mifusion.evaluation.reports import write_run_results

    start = time.perf_counter()
    fabric = fabric or launch(cfg.train.device, cfg.train.precision)
    rank, device = fabric.global_rank, fabric.device
    final_dir = Path(out_dir)
    # only rank 0 writes the run directory; other torchrun processes write to a scratch folder
    out_dir = final_dir if rank == 0 else Path(tempfile.mkdtemp(prefix=f"mifusion-rank{rank}-"))
    out_dir.mkdir(parents=True, exist_ok=True)
    configure_threads(cfg.train.num_threads)
    data = data or prepare_data(cfg)
    write_config(out_dir, cfg)
    write_spec(out_dir, data.spec)
    if data.stats is not None:
        write_json(out_dir / "feature_stats.json", data.stats.to_dict())
    seed_everything(seed)
    model = build(cfg, data)
    callbacks: list[Callback] = [EpochLog(out_dir)]
    if epoch_callback is not None:
        callbacks.append(EpochMetrics(epoch_callback))
    trainer = build_trainer(
        model, data, cfg, seed, out_dir, callbacks=[*callbacks, *extra_callbacks],
        checkpoint_every=checkpoint_every, progress=progress, fabric=fabric,
    )  # fmt: skip
    if resume:
        trainer.resume()
    fit = trainer.fit()
    if fit.best_epoch < 1:
        raise TrainingError(
            f"{out_dir}: no epoch of seed {seed} gave a finite validation {cfg.train.select_metric} "
            f"({fit.nonfinite_steps} non-finite training steps), so there is no result to write; "
            "lower train.lr or check the data for NaN/inf (mifusion data inspect --strict)"
        )
    test = predict_split(
        trainer.model, data.dataset["test"], data.spec.modalities, cfg.train.eval_batch_size, device,
        autocast_dtype=trainer.autocast,
    )  # fmt: skip
    bad = int((~np.isfinite(test.prediction)).sum())
    if bad:
        raise TrainingError(
            f"{out_dir}: the model selected at epoch {fit.best_epoch} predicts {bad} non-finite value(s) on "
            "the test split, so no result is written; lower train.lr or check the data for NaN/inf"
        )
    result = RunResult(
        seed, str(out_dir), fit.best_epoch, fit.best_valid, compute(test.prediction, test.label, data.spec),
        len(fit.history), time.perf_counter() - start, fit.nonfinite_steps,
    )  # fmt: skip
    if rank == 0:
        write_run_results(out_dir, result, test)
        write_run_plots(out_dir, fit.history, test, fit.best_epoch, cfg.train.select_metric)
    else:
        shutil.rmtree(out_dir, ignore_errors=True)
        result.run_dir = str(final_dir)
    return result


def summarize(runs: list[RunResult]) -> dict[str, dict[str, dict[str, float]]]:
    """Mean and sample standard deviation (ddof=1; 0 for one seed) of every metric per split."""
    from mifusion.evaluation.reports import mean_std

    return {split: mean_std([getattr(r, split) for r in runs]) for split in ("valid", "test")}


def _pending_seeds(cfg: ExperimentConfig, out_dir: Path, resume: bool) -> list[int]:
    """Seeds still to train (with ``resume``, seeds whose ``results.json`` exists are done)."""
    return [s for s in cfg.train.seeds if not (resume and (out_dir / f"seed_{s}" / "results.json").exists())]


def preflight(cfg: ExperimentConfig, out_dir: Path, *, resume: bool = False, overwrite: bool = False) -> None:
    """Every check that needs no data, before any work: the config, the device and the destination.

    With ``resume``, the run's saved config is compared with ``cfg``: settings that would break the
    checkpoint may not change (:mod:`mifusion.experiments.run_guard`). Writes nothing.
    """
    from mifusion.config import load
    from mifusion.experiments.run_guard import check_output, check_resume
    from mifusion.experiments.validation import check_config

    check_config(cfg)
    if cfg.data.path and not Path(cfg.data.path).exists():
        from mifusion.errors import DataError

        raise DataError(f"{cfg.data.path}: no such file or directory; check --data / data.path")
    if int(os.environ.get("RANK", "0")) != 0:  # torchrun: only rank 0 owns the run directory
        return
    check_output(out_dir, resume=resume, overwrite=overwrite)
    if resume:
        check_resume(out_dir, load(out_dir / "config.yaml"), cfg)


def run_experiment(
    cfg: ExperimentConfig,
    out_dir: Path,
    *,
    resume: bool = False,
    overwrite: bool = False,
    checkpoint_every: int | None = None,
    progress: bool = False,
) -> ExperimentResult:
    """Trains every seed of ``cfg.train.seeds`` into ``out_dir/seed_<s>`` and writes the summary.

    Everything is checked before anything is written: the config (:func:`preflight`), the data and the
    model built once on it (:func:`mifusion.experiments.validation.check_build`). An existing, non-empty ``out_dir``
    is refused unless ``resume`` (seeds that finished, ``results.json`` present, are read back, not
    retrained) or ``overwrite`` (the old run is moved aside to ``<out_dir>.old-<time>``). The directory
    is locked while the run writes into it.
    """
    from mifusion.evaluation.reports import write_experiment_results
    from mifusion.experiments.run_guard import claim
    from mifusion.experiments.validation import check_build

    out_dir = Path(out_dir)
    if checkpoint_every is not None and checkpoint_every < 1:
        from mifusion.errors import ConfigError

        raise ConfigError(f"--checkpoint-every {checkpoint_every}: must be at least 1 step")
    preflight(cfg, out_dir, resume=resume, overwrite=overwrite)
    pending = _pending_seeds(cfg, out_dir, resume)
    fabric = launch(cfg.train.device, cfg.train.precision)
    rank = fabric.global_rank
    data: PreparedData | None = None
    if pending:
        if cfg.train.num_threads:
            torch.set_num_threads(cfg.train.num_threads)
        data = prepare_data(cfg)
        check_build(cfg, data)
    claimed = claim(out_dir, resume=resume, overwrite=overwrite) if rank == 0 else None
    try:
        if claimed is not None and claimed.moved_to is not None:
            log.warning("the previous run in %s was moved to %s", out_dir, claimed.moved_to)
        if rank == 0:
            write_config(out_dir, cfg)
        runs: list[RunResult] = []
        for seed in cfg.train.seeds:
            seed_dir = out_dir / f"seed_{seed}"
            if seed not in pending:
                done = json.loads((seed_dir / "results.json").read_text(encoding="utf-8"))["run"]
                runs.append(RunResult(**done))
                continue
            log.info("seed %d -> %s", seed, seed_dir)
            one = train_one(
                cfg, seed_dir, seed, data=data, resume=resume, checkpoint_every=checkpoint_every,
                progress=progress, fabric=fabric,
            )  # fmt: skip
            runs.append(one)
        result = ExperimentResult(str(out_dir), runs, summarize(runs))
        if rank == 0:
            write_experiment_results(out_dir, result)
    finally:
        if claimed is not None:
            claimed.release()
    return result
