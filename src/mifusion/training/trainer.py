"""The one trainer for every model: driven by ModelOutput, param_groups() and the estimator stage.

Per batch: ``out = model(batch)``; the main and text-encoder optimisers step on
``L1(prediction, label) + sum(weight * term)``; then the estimator optimiser steps on
``out.estimator_loss`` (computed on detached representations), ``settings.critic_steps`` times on the same
representations. ``estimator_stage='separate_pass'`` adds the reference's estimator pass before each
epoch. Devices, precision and DDP go through Lightning Fabric (:mod:`mifusion.training.distributed`).
Validation selects the best epoch; the caller evaluates the test split once with the best checkpoint.
Progress is a :class:`~mifusion.training.state.TrainerState` (the checkpoint's schema); logging, pruning
and profiling come in as :class:`~mifusion.training.callbacks.Callback` objects. Built from a config by
:func:`mifusion.experiments.build.build_trainer`.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from mifusion.data.loader import iterate, sample_lengths
from mifusion.data.prepared import PreparedData
from mifusion.errors import TrainingError
from mifusion.metrics import is_better
from mifusion.models.base import FusionModel
from mifusion.training.callbacks import Callback
from mifusion.training.checkpoint import clone_state, load_checkpoint, save_checkpoint
from mifusion.training.distributed import shard, wrap_model
from mifusion.training.ema import averaged_weights, build_weight_average
from mifusion.training.optim import Optimizers
from mifusion.training.sampler import BatchSampler
from mifusion.training.seed import rng_state, set_rng_state
from mifusion.training.settings import TrainSettings
from mifusion.training.state import TrainerState
from mifusion.training.steps import drop_modalities, estimator_pass_step, train_step

if TYPE_CHECKING:
    from lightning_fabric import Fabric

log = logging.getLogger(__name__)


@dataclass
class FitResult:
    """Outcome of :meth:`Trainer.fit`: the selected epoch and the per-epoch history."""

    best_epoch: int
    best_valid: dict[str, float]
    history: list[dict[str, float]] = field(default_factory=list)
    nonfinite_steps: int = 0


class Trainer:
    """Trains ``model`` on ``data``; checkpoints into ``run_dir`` (``last.pt``, ``best.pt``).

    Args:
        model: any registered FusionModel.
        optimizers: its optimisers and scheduler (:func:`mifusion.training.optim.build_optimizers`).
        settings: epochs, clipping, selection, critic steps, ...
        callbacks: logging, pruning, profiling (:class:`~mifusion.training.callbacks.Callback`), in order.
        validate: the model -> its validation metrics, ``settings.select_metric`` and ``loss`` among them.
        data: prepared splits and spec.
        seed: the run's seed (sampler, modality dropout).
        fabric: a launched Fabric (:func:`mifusion.training.distributed.launch`): it places the model,
            applies the precision's autocast and, under torchrun, wraps the model in DDP (estimator
            parameters stay outside, see distributed.py).
        run_dir: where checkpoints go; None keeps the best state in memory only.
        checkpoint_every: also save ``last.pt`` every this many steps mid-epoch (resume tests).
        progress: show tqdm bars.

    ``self.model`` is always the plain model (checkpoints, validation); training runs ``self.module``.
    """

    def __init__(
        self,
        model: FusionModel,
        optimizers: Optimizers,
        settings: TrainSettings,
        callbacks: Sequence[Callback] = (),
        *,
        data: PreparedData,
        seed: int,
        fabric: Fabric,
        validate: Callable[[FusionModel], dict[str, float]],
        run_dir: Path | None = None,
        checkpoint_every: int | None = None,
        progress: bool = False,
    ) -> None:
        model.check_estimator_stage(settings.estimator_stage)
        self.model, self.optim, self.settings = model, optimizers, settings
        self.callbacks = list(callbacks)
        self.data, self.seed, self.fabric, self.validator = data, seed, fabric, validate
        self.run_dir, self.device = run_dir, fabric.device
        self.checkpoint_every, self.progress = checkpoint_every, progress
        self.module = wrap_model(fabric, model, optimizers.estimator_params)
        self.ema = build_weight_average(model, settings.ema_decay)  # validation and best.pt use it
        train = data.dataset["train"]
        lengths = sample_lengths(train, data.spec.modalities) if settings.bucketing else None
        self.sampler = BatchSampler(
            len(train), settings.batch_size, seed, lengths, longest_first=settings.longest_first
        )
        self.dropout_rng = torch.Generator().manual_seed(seed + 1)
        self.autocast = settings.autocast
        self.state = TrainerState()
        self.best_state: dict[str, torch.Tensor] | None = None

    def _call(self, hook: str, *args: Any) -> None:
        for callback in self.callbacks:
            getattr(callback, hook)(self, *args)

    @contextmanager
    def _phase(self, name: str) -> Iterator[None]:
        self._call("on_phase_start", name)
        try:
            yield
        finally:
            self._call("on_phase_end", name)

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
                "trainer": self.state.to_dict(),
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
        self.state = TrainerState.from_dict(ckpt["trainer"])
        set_rng_state(ckpt["rng"])
        self.dropout_rng.set_state(ckpt["dropout_rng"])
        if self.ema is not None and ckpt.get("ema") is not None:
            self.ema.load_state_dict(ckpt["ema"])
        log.info("resuming at epoch %d, step %d", self.state.epoch + 1, self.state.step)
        return True

    # -- training ----------------------------------------------------------------------------------
    def _bar(self, total: int, desc: str, initial: int = 0) -> Any:
        from tqdm.auto import tqdm

        return tqdm(total=total, desc=desc, initial=initial, disable=not self.progress, leave=False)

    def _train_epoch(self, epoch: int) -> None:
        settings, state = self.settings, self.state
        train, mods = self.data.dataset["train"], self.data.spec.modalities
        rank, size = self.fabric.global_rank, self.fabric.world_size
        batches = [shard(b, rank, size) for b in self.sampler.batches(epoch)]
        self.module.train()
        self.model.set_epoch(epoch)
        if settings.estimator_stage == "separate_pass" and state.step == 0 and self.optim.estimator:
            # the reference's MOSEI half pass: batch i runs while i / len < fraction
            count = max(1, math.ceil(len(batches) * settings.estimator_pass_fraction))
            for batch in iterate(train, batches[:count], mods, self.device):
                estimator_pass_step(
                    self.module, batch, self.optim, settings.clip_norm,
                    fabric=self.fabric, clip_scope=settings.clip_scope,
                )  # fmt: skip
        bar = self._bar(len(batches), f"epoch {epoch + 1}/{settings.epochs}", state.step)
        for batch in iterate(train, batches[state.step :], mods, self.device):
            batch = drop_modalities(batch, settings.modality_dropout, self.dropout_rng)
            self._call("on_batch_start", batch)
            # the step's autocast is the Fabric precision's (settings.autocast is validation's)
            result = train_step(
                self.module, batch, self.optim, settings.clip_norm, settings.critic_steps,
                fabric=self.fabric, clip_scope=settings.clip_scope,
            )  # fmt: skip
            state.step += 1
            if result.skipped:
                state.nonfinite_total += 1
                state.nonfinite_run += 1
                log.warning(
                    "non-finite %s at epoch %d step %d: step skipped", result.bad_term, epoch + 1, state.step
                )
                if state.nonfinite_run >= settings.max_nonfinite_steps:
                    raise TrainingError(
                        f"term {result.bad_term!r} was non-finite in {state.nonfinite_run} steps in a row "
                        "(train.max_nonfinite_steps); lower the learning rate or that term's weight"
                    )
            else:
                self.optim.after_step()
                if self.ema is not None:
                    self.ema.update(self.model)
                state.nonfinite_run = 0
                for key, value in result.parts.items():
                    state.sums[key] = state.sums.get(key, 0.0) + value
                state.count += 1
            self._call("on_batch_end", result)
            bar.update(1)
            bar.set_postfix(loss=f"{result.parts.get('total', float('nan')):.3f}")
            if self.checkpoint_every and state.step % self.checkpoint_every == 0:
                self.save_last()
        bar.close()

    def _end_epoch(self, epoch: int, seconds: float) -> bool:
        """Validation, selection, scheduler, history; returns True when early stopping triggers."""
        settings, state = self.settings, self.state
        with self._phase("valid"), averaged_weights(self.ema, self.model):
            metrics = self.validator(self.model)
        self.optim.end_epoch(metrics["loss"])
        count = max(state.count, 1)
        row: dict[str, float] = {
            "epoch": epoch + 1,
            "seconds": seconds,
            "lr": self.optim.main.param_groups[0]["lr"],
        }
        row.update({f"train/{k}": v / count for k, v in state.sums.items()})
        row.update({f"valid/{k}": v for k, v in metrics.items()})
        row["nonfinite_steps"] = state.nonfinite_total
        state.history.append(row)
        value = metrics.get(settings.select_metric)
        if value is None:
            raise TrainingError(
                f"train.select_metric={settings.select_metric!r} is not a metric; "
                f"use one of {', '.join(metrics)}"
            )
        improved = is_better(settings.select_metric, value, state.best_value)
        if improved:
            state.best_value, state.best_epoch, state.bad_epochs = value, epoch + 1, 0
            state.best_valid = metrics
        else:
            state.bad_epochs += 1
        if improved:
            with self._phase("checkpoints"):
                self._save_best(epoch)
        state.epoch, state.step, state.sums, state.count = epoch + 1, 0, {}, 0
        self._call("on_epoch_end", row)
        with self._phase("checkpoints"):
            self.save_last()
        self._call("on_validated", epoch + 1, metrics)
        return state.bad_epochs >= settings.early_stopping_patience

    def _save_best(self, epoch: int) -> None:
        with averaged_weights(self.ema, self.model):  # the weights that were validated
            self._save_model(epoch)

    def _save_model(self, epoch: int) -> None:
        if self.run_dir is not None:  # the best weights live on disk only: memory stays flat
            save_checkpoint(self.run_dir / "best.pt", {"model": self.model.state_dict(), "epoch": epoch + 1})
        else:
            self.best_state = clone_state(self.model.state_dict())  # aliases copied once

    def _restore_best(self) -> None:
        """Loads the validation-selected weights (from memory, or from ``run_dir/best.pt``)."""
        if self.best_state is not None:
            self.model.load_state_dict(self.best_state)
        elif self.run_dir is not None and (self.run_dir / "best.pt").exists():
            self.model.load_state_dict(load_checkpoint(self.run_dir / "best.pt")["model"])

    def fit(self) -> FitResult:
        """Trains from the current state until ``settings.epochs`` or early stopping."""
        self.model.to(self.device)
        epochs, metric = self.settings.epochs, self.settings.select_metric
        stopped = self.state.bad_epochs >= self.settings.early_stopping_patience
        epoch_bar = self._bar(epochs, "epochs", self.state.epoch)
        self._call("on_fit_start")
        try:
            while self.state.epoch < epochs and not stopped:
                epoch, start = self.state.epoch, time.perf_counter()
                self._train_epoch(epoch)
                stopped = self._end_epoch(epoch, time.perf_counter() - start)
                row = self.state.history[-1]
                epoch_bar.update(1)
                log.info(
                    "epoch %d/%d  train loss %.4f  valid %s %.4f%s", epoch + 1, epochs,
                    row.get("train/total", float("nan")), metric, row.get(f"valid/{metric}", float("nan")),
                    "  (best)" if self.state.best_epoch == epoch + 1 else "",
                )  # fmt: skip
        finally:
            self._call("on_fit_end")
        epoch_bar.close()
        self._restore_best()
        state = self.state
        return FitResult(state.best_epoch, dict(state.best_valid), list(state.history), state.nonfinite_total)
