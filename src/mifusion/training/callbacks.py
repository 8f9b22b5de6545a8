"""One callback protocol for everything the trainer does not do itself: logging, pruning, profiling.

A callback subclasses :class:`Callback` and overrides the hooks it needs; the trainer calls each hook of
each callback in the order given. A hook may raise to stop training (pruning raises
``optuna.TrialPruned`` from :meth:`Callback.on_validated`).

Example:
    >>> class CountSteps(Callback):
    ...     def __init__(self) -> None:
    ...         self.steps = 0
    ...     def on_batch_end(self, trainer, result) -> None:
    ...         self.steps += 1
    >>> CountSteps().steps
    0
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mifusion.data.batch import MultimodalBatch
    from mifusion.training.steps import StepResult
    from mifusion.training.trainer import Trainer

EpochCallback = Callable[[int, dict[str, float]], None]


class Callback:
    """Hooks of :class:`~mifusion.training.trainer.Trainer`; every default does nothing."""

    def on_fit_start(self, trainer: Trainer) -> None:
        """Before the first epoch that :meth:`Trainer.fit` runs (after any resume)."""

    def on_batch_start(self, trainer: Trainer, batch: MultimodalBatch) -> None:
        """Before each training step."""

    def on_batch_end(self, trainer: Trainer, result: StepResult) -> None:
        """After each training step (skipped ones included)."""

    def on_phase_start(self, trainer: Trainer, phase: str) -> None:
        """Before an end-of-epoch phase: "valid" (validation) or "checkpoints" (writing them)."""

    def on_phase_end(self, trainer: Trainer, phase: str) -> None:
        """After the phase of :meth:`on_phase_start`."""

    def on_epoch_end(self, trainer: Trainer, row: dict[str, float]) -> None:
        """With the epoch's history row, before ``last.pt`` is written (logging, ``metrics.csv``)."""

    def on_validated(self, trainer: Trainer, epoch: int, metrics: dict[str, float]) -> None:
        """With the 1-based epoch and its validation metrics, after ``last.pt``; may raise to stop."""

    def on_fit_end(self, trainer: Trainer) -> None:
        """After the last epoch (also when a hook or the step raised)."""


class EpochMetrics(Callback):
    """Calls ``function(epoch, validation metrics)`` after each epoch (sweep pruning, progress reports)."""

    def __init__(self, function: EpochCallback) -> None:
        self.function = function

    def on_validated(self, trainer: Any, epoch: int, metrics: dict[str, float]) -> None:
        """Passes the epoch's validation metrics on."""
        self.function(epoch, metrics)
