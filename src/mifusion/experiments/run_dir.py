"""The run directory: resolved config, data spec, feature stats, per-epoch metrics CSV, TensorBoard.

Layout of one seed's directory::

    config.yaml  spec.json  feature_stats.json  metrics.csv  tensorboard/  best.pt  last.pt
    results.json  results.md  plots/
"""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path
from typing import Any

import yaml

from mifusion.config import ExperimentConfig, to_dict
from mifusion.data.spec import DataSpec
from mifusion.training.callbacks import Callback
from mifusion.writers import atomic_write_text, write_json, write_rows_csv

log = logging.getLogger(__name__)


def write_config(run_dir: Path, cfg: ExperimentConfig) -> None:
    """Writes the resolved config as ``config.yaml``."""
    atomic_write_text(run_dir / "config.yaml", yaml.safe_dump(to_dict(cfg), sort_keys=False))


def write_spec(run_dir: Path, spec: DataSpec) -> None:
    """Writes the DataSpec the model was built for (``spec.json``)."""
    write_json(run_dir / "spec.json", dataclasses.asdict(spec))


def read_spec(run_dir: Path) -> DataSpec:
    """Reads ``spec.json`` back into a DataSpec."""
    data = json.loads((run_dir / "spec.json").read_text(encoding="utf-8"))
    data["modalities"] = tuple(data["modalities"])
    data["label_range"] = tuple(data["label_range"])
    return DataSpec(**data)


class EpochLog(Callback):
    """A trainer callback: rewrites ``metrics.csv`` with each epoch's row and logs it to TensorBoard."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.rows: list[dict[str, float]] = []
        self._writer: Any = None

    def on_fit_start(self, trainer: Any) -> None:
        """Starts from the history the trainer resumed with (empty for a fresh run); opens TensorBoard."""
        self.rows = list(trainer.state.history)
        try:
            from torch.utils.tensorboard import SummaryWriter

            self._writer = SummaryWriter(log_dir=str(self.run_dir / "tensorboard"))
        except ImportError:  # pragma: no cover - tensorboard is a declared dependency
            log.warning("tensorboard is not installed; TensorBoard logs are skipped")

    def on_epoch_end(self, trainer: Any, row: dict[str, float]) -> None:
        """Appends ``row`` to ``metrics.csv`` (rewritten atomically) and TensorBoard."""
        self.rows.append(row)
        write_rows_csv(self.run_dir / "metrics.csv", self.rows)
        if self._writer is not None:
            step = int(row["epoch"])
            for key, value in row.items():
                if key != "epoch":
                    self._writer.add_scalar(key, value, step)
            self._writer.flush()

    def on_fit_end(self, trainer: Any) -> None:
        """Closes the TensorBoard writer."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
