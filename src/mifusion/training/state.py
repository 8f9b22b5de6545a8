"""The trainer's progress: a typed state that is also the schema of ``last.pt``'s ``"trainer"`` entry."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from mifusion.errors import DataError

#: Version of the checkpointed :class:`TrainerState`; bump it when a field changes meaning.
STATE_VERSION = 1


@dataclass
class TrainerState:
    """Where training stands, saved in every ``last.pt`` and restored exactly on resume.

    Attributes:
        epoch: epochs finished (0-based index of the running epoch).
        step: batches finished in the running epoch.
        sums: training term -> sum over the epoch's finished (not skipped) steps.
        count: steps summed in ``sums``.
        best_value: the best validation value of ``select_metric`` so far, or None.
        best_epoch: the 1-based epoch of ``best_value`` (-1 before any).
        bad_epochs: epochs since the last improvement (early stopping).
        history: one row per finished epoch (``metrics.csv``).
        nonfinite_total: steps skipped for a non-finite loss over the run.
        nonfinite_run: consecutive skipped steps (``train.max_nonfinite_steps``).
        best_valid: every validation metric of the best epoch.

    Example:
        >>> state = TrainerState(epoch=2, step=5)
        >>> TrainerState.from_dict(state.to_dict()) == state
        True
    """

    epoch: int = 0
    step: int = 0
    sums: dict[str, float] = field(default_factory=dict)
    count: int = 0
    best_value: float | None = None
    best_epoch: int = -1
    bad_epochs: int = 0
    history: list[dict[str, float]] = field(default_factory=list)
    nonfinite_total: int = 0
    nonfinite_run: int = 0
    best_valid: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain Python values (``torch.load(weights_only=True)`` reads them back) with the version."""
        return {"version": STATE_VERSION, **dataclasses.asdict(self)}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainerState:
        """The state of a checkpoint; checkpoints written before the version key count as version 1."""
        values = dict(values)
        version = values.pop("version", STATE_VERSION)
        names = {f.name for f in dataclasses.fields(cls)}
        if version != STATE_VERSION or set(values) != names:
            raise DataError(
                f"the checkpoint's trainer state is version {version} with fields {sorted(values)}; this "
                f"mifusion reads version {STATE_VERSION} with {sorted(names)}: retrain, or resume with the "
                "mifusion version that wrote it"
            )
        return cls(**values)
