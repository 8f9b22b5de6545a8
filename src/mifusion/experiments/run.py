"""A trained run loaded back from its directory: predictions and consistency scores on new data.

Example (after ``mifusion train --out runs/demo``)::

    run = load_run("runs/demo")
    predictions = run.predict(dataset)        # (N,) for dataset["test"]
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mifusion.config import ExperimentConfig, load
from mifusion.data.batch import MultimodalBatch
from mifusion.data.dataset import MultimodalDataset, SplitData
from mifusion.data.loader import iterate, sequential
from mifusion.data.spec import DataSpec
from mifusion.errors import ConfigError, DataError
from mifusion.evaluation.evaluate import SplitPredictions, predict_split
from mifusion.experiments.pipeline import prepare
from mifusion.experiments.run_dir import read_spec
from mifusion.models.base import FusionModel
from mifusion.training.checkpoint import load_checkpoint


def seed_dirs(run_dir: Path) -> list[Path]:
    """Every trained seed of ``run_dir``: ``[run_dir]`` when it holds ``best.pt``, else its ``seed_*``
    folders with a ``best.pt``, in seed order."""
    if (run_dir / "best.pt").exists():
        return [run_dir]
    seeds = [p for p in run_dir.glob("seed_*") if (p / "best.pt").exists()]
    if not seeds:
        raise DataError(f"{run_dir}: no trained run here (no best.pt); train with 'mifusion train --out DIR'")
    return sorted(seeds, key=lambda p: (len(p.name), p.name))


def seed_dir(run_dir: Path) -> Path:
    """The directory holding ``best.pt``: ``run_dir`` itself or its first ``seed_*`` folder."""
    return seed_dirs(run_dir)[0]


def seed_of(folder: Path) -> int | None:
    """The seed a run folder was trained with (its ``results.json``, else a ``seed_N`` name), or None."""
    results = folder / "results.json"
    if results.exists():
        import json

        run = json.loads(results.read_text(encoding="utf-8")).get("run")
        if isinstance(run, dict) and "seed" in run:
            return int(run["seed"])
    suffix = folder.name.removeprefix("seed_")
    return int(suffix) if folder.name.startswith("seed_") and suffix.isdigit() else None


@dataclass
class TrainedRun:
    """A model restored from its run directory with everything needed to prepare new data."""

    run_dir: Path
    cfg: ExperimentConfig
    spec: DataSpec
    model: FusionModel
    stats: Any
    device: torch.device

    def prepare(self, dataset: MultimodalDataset) -> MultimodalDataset:
        """Selects modalities, tokenises and standardises ``dataset`` with the run's training stats."""
        return prepare(dataset, self.cfg, stats=self.stats).dataset

    def predict_split(self, split: SplitData, transform: Any = None) -> SplitPredictions:
        """Predictions for an already prepared split (``transform`` edits each batch)."""
        return predict_split(
            self.model, split, self.spec.modalities, self.cfg.train.eval_batch_size, self.device, transform
        )

    def predict(self, data: MultimodalDataset | MultimodalBatch, split: str = "test") -> np.ndarray:
        """(N,) predictions for ``data[split]`` (prepared here) or for one prepared batch."""
        if isinstance(data, MultimodalBatch):
            self.model.eval()
            with torch.no_grad():
                return self.model(data.to(self.device)).prediction.reshape(-1).cpu().numpy()
        return self.predict_split(self.prepare(data)[split]).prediction

    @property
    def seed(self) -> int | None:
        """The training seed of this run folder (None when unknown)."""
        return seed_of(self.run_dir)

    def representations(self, split: SplitData) -> dict[str, torch.Tensor]:
        """modality -> (N, D_m) the per-modality vectors a dependency penalty taps (``unimodal``), on CPU."""
        self.model.eval()
        parts: dict[str, list[torch.Tensor]] = {}
        batches = sequential(split, self.cfg.train.eval_batch_size)
        with torch.no_grad():
            for batch in iterate(split, batches, self.spec.modalities, self.device):
                for m, rep in self.model.representations(batch).items():
                    parts.setdefault(m, []).append(rep.float().cpu())
        return {m: torch.cat(v) for m, v in parts.items()}

    def consistency_scores(self, batch: MultimodalBatch) -> np.ndarray:
        """(B,) the dependency penalty's pointwise score per sample (higher = more consistent)."""
        if not self.model.has_consistency_scores:
            raise ConfigError(
                f"{self.run_dir}: this model has no dependency penalty to score with; "
                "train with --penalty ESTIMATOR"
            )
        self.model.eval()
        with torch.no_grad():
            scores = self.model.consistency_scores(batch.to(self.device))
        return scores.reshape(-1).float().cpu().numpy()


def load_run(run_dir: str | Path, device: str | None = None) -> TrainedRun:
    """Restores the best checkpoint of ``run_dir`` (a seed folder or an experiment folder)."""
    from mifusion.experiments.runner import resolve_device

    folder = seed_dir(Path(run_dir))
    cfg = load(folder / "config.yaml")
    spec = read_spec(folder)
    stats = None
    stats_path = folder / "feature_stats.json"
    if stats_path.exists():
        import json

        from mifusion.data.statistics import FeatureStats

        stats = FeatureStats.from_dict(json.loads(stats_path.read_text(encoding="utf-8")))
    from mifusion.models.build import build_model

    model = build_model(cfg.model, cfg.penalty, spec)
    try:
        model.load_state_dict(load_checkpoint(folder / "best.pt")["model"])
    except RuntimeError as error:  # a checkpoint from another version of a model or estimator
        first = str(error).splitlines()[0]
        raise ConfigError(
            f"{folder / 'best.pt'} does not match the model built from its config.yaml ({first} ...); "
            "it was probably written by another mifusion version: retrain the run"
        ) from error
    target = resolve_device(device or cfg.train.device)
    model.to(target).eval()
    return TrainedRun(folder, cfg, spec, model, stats, target)
