"""The one trainer for every model: driven by ModelOutput, param_groups() and the estimator stage.

Per batch: ``out = model(batch)``; the main and text-encoder optimisers step on
``L1(prediction, label) + sum(weight * term)``; then the estimator optimiser steps on
``out.estimator_loss`` (computed on detached representations), ``penalty.critic_steps`` times on the same
representations. ``train.estimator_stage='separate_pass'`` adds the reference's estimator pass before
each epoch. Devices, precision and DDP go through Lightning Fabric (:mod:`mifusion.training.distributed`).
Validation selects the best epoch; the caller evaluates the test split once with the best checkpoint.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from mifusion.config import ExperimentConfig
from mifusion.errors import TrainingError
from mifusion.evaluation.evaluate import compute, is_better, predict_split
from mifusion.models.base import FusionModel
from mifusion.training.checkpoint import clone_state, load_checkpoint, save_checkpoint
from mifusion.training.critic import critic_steps_for
from mifusion.training.distributed import launch, shard, wrap_model
from mifusion.training.ema import averaged_weights, build_weight_average
from mifusion.training.loader import iterate, sample_lengths
from mifusion.training.optim import build_optimizers
from mifusion.training.pipeline import PreparedData
from mifusion.training.sampler import BatchSampler
from mifusion.training.seed import rng_state, set_rng_state
from mifusion.training.steps import drop_modalities, estimator_pass_step, train_step

if TYPE_CHECKING:
    from lightning_fabric import Fabric

log = logging.getLogger(__name__)

EpochCallback = Callable[[int, dict[str, float]], None]


@dataclass
class FitResult:
    """Outcome of :meth:`Trainer.fit`: the selected epoch and the per-epoch history."""

    best_epoch: int
    best_valid: dict[str, float]
    history: list[dict[str, float]] = field(default_factory=list)
    nonfinite_steps: int = 0


class Trainer:
    """Trains ``model`` on ``data`` as configured; checkpoints into ``run_dir`` (``last.pt``, ``best.pt``).

    Args:
        model: any registered FusionModel.
        data: prepared splits and spec.
        cfg: the experiment config (train and penalty sections are read here).
        seed: the run's seed (sampler, modality dropout).
        run_dir: where checkpoints go; None keeps the best state in memory only.
        device: the device when ``fabric`` is not given (default ``train.device``).
        on_epoch: called with each epoch's history row (logging, metrics.csv).
        epoch_callback: called with (epoch, validation metrics); may raise to stop (pruning).
        checkpoint_every: also save ``last.pt`` every this many steps mid-epoch (resume tests).
        progress: show tqdm bars.
        fabric: a launched Fabric (:func:`mifusion.training.distributed.launch`); None launches one from
            ``device`` and ``train.precision``. It places the model, applies the precision's autocast and,
            under torchrun, wraps the model in DDP (estimator parameters stay outside, see distributed.py).

    ``self.model`` is always the plain model (checkpoints, validation); training runs ``self.module``.
    """

    def __init__(
        self,
        model: FusionModel,
        data: PreparedData,
        cfg: ExperimentConfig,
        seed: int,
        run_dir: Path | None = None,
        device: torch.device | str | None = None,
        on_epoch: Callable[[dict[str, float]], None] | None = None,
        epoch_callback: EpochCallback | None = None,
        checkpoint_every: int | None = None,
        progress: bool = False,
        fabric: Fabric | None = None,
    ) -> None:
        model.check_estimator_stage(cfg.train.estimator_stage)
        self.model, self.data, self.cfg, self.seed = model, data, cfg, seed
        self.fabric = fabric or launch(str(device or cfg.train.device), cfg.train.precision)
        self.run_dir, self.device = run_dir, self.fabric.device
        self.on_epoch, self.epoch_callback = on_epoch, epoch_callback
        self.checkpoint_every, self.progress = checkpoint_every, progress
        train = data.dataset["train"]
        lengths = sample_lengths(train, data.spec.modalities) if cfg.train.bucketing else None
        self.sampler = BatchSampler(len(train), cfg.train.batch_size, seed, lengths)
        self.optim = build_optimizers(model, cfg.train, len(self.sampler))
        self.ema = build_weight_average(model, cfg.train.ema_decay)  # validation/best.pt use it
        self.module = wrap_model(self.fabric, model, self.optim.estimator_params)
        self.critic = critic_steps_for(model, self.optim.estimator_params)
        self.dropout_rng = torch.Generator().manual_seed(seed + 1)
        self.autocast = torch.bfloat16 if cfg.train.precision == "bf16-mixed" else None
        self.state: dict[str, Any] = {
            "epoch": 0, "step": 0, "sums": {}, "count": 0, "best_value": None, "best_epoch": -1,
            "bad_epochs": 0, "history": [], "nonfinite_total": 0, "nonfinite_run": 0, "best_valid": {},
        }  # fmt: skip
        self.best_state: dict[str, torch.Tensor] | None = None

    # -- checkpoints -------------------------------------------------------------------------------
    def save_last(self) -> None:
        """Writes the full resume state to ``run_dir/last.pt`` atomically."""
        if self.run_dir is None:
            return
        save_checkpoint(
            self.run_dir / "last.pt",
            {
                "model": self.model.state_dict(),
                "optim": self.optim.state_dict(),
                "trainer": self.state,
                "rng": rng_state(),
                "dropout_rng": self.dropout_rng.get_state(),
                "ema": None if self.ema is None else self.ema.state_dict(),
            },
        )

    def resume(self) -> bool:
        """Loads ``run_dir/last.pt`` when it exists; returns whether it did."""
        path = None if self.run_dir is None else self.run_dir / "last.pt"
        if path is None or not path.exists():
            return False
        ckpt = load_checkpoint(path)
        self.model.load_state_dict(ckpt["model"])
        self.optim.load_state_dict(ckpt["optim"])
        self.state = ckpt["trainer"]
        set_rng_state(ckpt["rng"])
        self.dropout_rng.set_state(ckpt["dropout_rng"])
        if self.ema is not None and ckpt.get("ema") is not None:
            self.ema.load_state_dict(ckpt["ema"])
        log.info("resuming at epoch %d, step %d", self.state["epoch"] + 1, self.state["step"])
        return True

    # -- training ----------------------------------------------------------------------------------
    def _bar(self, total: int, desc: str, initial: int = 0) -> Any:
        from tqdm.auto import tqdm

        return tqdm(total=total, desc=desc, initial=initial, disable=not self.progress, leave=False)

    def _train_epoch(self, epoch: int) -> None:
        tcfg, state = self.cfg.train, self.state
        train, mods = self.data.dataset["train"], self.data.spec.modalities
        rank, size = self.fabric.global_rank, self.fabric.world_size
        batches = [shard(b, rank, size) for b in self.sampler.batches(epoch)]
        self.module.train()
        self.model.set_epoch(epoch)
        if tcfg.estimator_stage == "separate_pass" and state["step"] == 0 and self.optim.estimator:
            # the reference's MOSEI half pass: batch i runs while i / len < fraction
            count = max(1, math.ceil(len(batches) * tcfg.estimator_pass_fraction))
            for batch in iterate(train, batches[:count], mods, self.device):
                estimator_pass_step(
                    self.module,
                    batch,
                    self.optim,
                    tcfg.clip_norm,
                    fabric=self.fabric,
                    clip_scope=tcfg.clip_scope,
                )
        bar = self._bar(len(batches), f"epoch {epoch + 1}/{tcfg.epochs}", state["step"])
        for batch in iterate(train, batches[state["step"] :], mods, self.device):
            batch = drop_modalities(batch, tcfg.modality_dropout, self.dropout_rng)
            critic_steps = self.cfg.penalty.critic_steps if self.cfg.penalty.estimator else 1
            result = train_step(
                self.module, batch, self.optim, tcfg.clip_norm, critic_steps,
                fabric=self.fabric, critic=self.critic, clip_scope=tcfg.clip_scope,
            )  # fmt: skip
            state["step"] += 1
            if result.skipped:
                state["nonfinite_total"] += 1
                state["nonfinite_run"] += 1
                log.warning(
                    "non-finite %s at epoch %d step %d: step skipped",
                    result.bad_term,
                    epoch + 1,
                    state["step"],
                )
                if state["nonfinite_run"] >= tcfg.max_nonfinite_steps:
                    raise TrainingError(
                        f"term {result.bad_term!r} was non-finite in {state['nonfinite_run']} steps in a row "
                        "(train.max_nonfinite_steps); lower the learning rate or that term's weight"
                    )
            else:
                self.optim.after_step()
                if self.ema is not None:
                    self.ema.update(self.model)
                state["nonfinite_run"] = 0
                for key, value in result.parts.items():
                    state["sums"][key] = state["sums"].get(key, 0.0) + value
                state["count"] += 1
            bar.update(1)
            bar.set_postfix(loss=f"{result.parts.get('total', float('nan')):.3f}")
            if self.checkpoint_every and state["step"] % self.checkpoint_every == 0:
                self.save_last()
        bar.close()

    def _end_epoch(self, epoch: int, seconds: float) -> bool:
        """Validation, selection, scheduler, history; returns True when early stopping triggers."""
        tcfg, state = self.cfg.train, self.state
        with averaged_weights(self.ema, self.model):
            valid = predict_split(
                self.model, self.data.dataset["valid"], self.data.spec.modalities,
                tcfg.eval_batch_size, self.device, autocast_dtype=self.autocast,
            )  # fmt: skip
        metrics = compute(valid.prediction, valid.label, self.data.spec)
        self.optim.end_epoch(metrics["loss"])
        count = max(state["count"], 1)
        row: dict[str, float] = {
            "epoch": epoch + 1,
            "seconds": seconds,
            "lr": self.optim.main.param_groups[0]["lr"],
        }
        row.update({f"train/{k}": v / count for k, v in state["sums"].items()})
        row.update({f"valid/{k}": v for k, v in metrics.items()})
        row["nonfinite_steps"] = state["nonfinite_total"]
        state["history"].append(row)
        value = metrics.get(tcfg.select_metric)
        if value is None:
            raise TrainingError(
                f"train.select_metric={tcfg.select_metric!r} is not a metric; use one of {', '.join(metrics)}"
            )
        if is_better(tcfg.select_metric, value, state["best_value"]):
            state.update(best_value=value, best_epoch=epoch + 1, bad_epochs=0, best_valid=metrics)
            with averaged_weights(self.ema, self.model):  # the weights that were validated
                if self.run_dir is not None:  # the best weights live on disk only: memory stays flat
                    save_checkpoint(
                        self.run_dir / "best.pt", {"model": self.model.state_dict(), "epoch": epoch + 1}
                    )
                else:
                    self.best_state = clone_state(self.model.state_dict())  # aliases copied once
        else:
            state["bad_epochs"] += 1
        state.update(epoch=epoch + 1, step=0, sums={}, count=0)
        if self.on_epoch is not None:
            self.on_epoch(row)
        self.save_last()
        if self.epoch_callback is not None:
            self.epoch_callback(epoch + 1, metrics)
        return state["bad_epochs"] >= tcfg.early_stopping_patience

    def _restore_best(self) -> None:
        """Loads the validation-selected weights (from memory, or from ``run_dir/best.pt``)."""
        if self.best_state is not None:
            self.model.load_state_dict(self.best_state)
        elif self.run_dir is not None and (self.run_dir / "best.pt").exists():
            self.model.load_state_dict(load_checkpoint(self.run_dir / "best.pt")["model"])

    def fit(self) -> FitResult:
        """Trains from the current state until ``train.epochs`` or early stopping."""
        self.model.to(self.device)
        epochs = self.cfg.train.epochs
        stopped = self.state["bad_epochs"] >= self.cfg.train.early_stopping_patience
        epoch_bar = self._bar(epochs, "epochs", self.state["epoch"])
        while self.state["epoch"] < epochs and not stopped:
            epoch, start = self.state["epoch"], time.perf_counter()
            self._train_epoch(epoch)
            stopped = self._end_epoch(epoch, time.perf_counter() - start)
            row = self.state["history"][-1]
            epoch_bar.update(1)
            log.info(
                "epoch %d/%d  train loss %.4f  valid %s %.4f%s", epoch + 1, epochs,
                row.get("train/total", float("nan")), self.cfg.train.select_metric,
                row.get(f"valid/{self.cfg.train.select_metric}", float("nan")),
                "  (best)" if self.state["best_epoch"] == epoch + 1 else "",
            )  # fmt: skip
        epoch_bar.close()
        self._restore_best()
        return FitResult(
            self.state["best_epoch"], dict(self.state["best_valid"]), list(self.state["history"]),
            self.state["nonfinite_total"],
        )  # fmt: skip
