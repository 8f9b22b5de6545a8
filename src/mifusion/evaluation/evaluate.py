"""Predictions and metrics of a model on a split (no gradients, dataset order)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from mifusion.data.batch import MultimodalBatch
from mifusion.data.dataset import SplitData
from mifusion.data.loader import iterate, sequential
from mifusion.data.spec import DataSpec
from mifusion.models.base import FusionModel


@dataclass
class SplitPredictions:
    """Predictions of a split, aligned with its ids."""

    ids: list[str]
    prediction: np.ndarray  # (N,)
    label: np.ndarray  # (N,)


def metric_kind(spec: DataSpec) -> str:
    """'sims' for labels in [-1, 1], else 'mosi' (the [-3, 3] conventions)."""
    return "sims" if spec.label_range == (-1.0, 1.0) else "mosi"


def compute(prediction: np.ndarray, label: np.ndarray, spec: DataSpec) -> dict[str, float]:
    """The metric table (mifusion.metrics) plus ``loss`` (mean L1, the selection/scheduler loss)."""
    from mifusion.metrics import compute_metrics

    metrics = {k: float(v) for k, v in compute_metrics(prediction, label, metric_kind(spec)).items()}
    metrics["loss"] = float(np.mean(np.abs(prediction - label)))
    return metrics


@torch.no_grad()
def predict_split(
    model: FusionModel,
    split: SplitData,
    modalities: Sequence[str],
    batch_size: int = 128,
    device: torch.device | str = "cpu",
    transform: Callable[[MultimodalBatch], MultimodalBatch] | None = None,
    autocast_dtype: torch.dtype | None = None,
) -> SplitPredictions:
    """Runs ``model`` in eval mode over ``split``; ``transform`` edits each batch (robustness)."""
    was_training = model.training
    model.eval()
    outputs = []
    device_type = torch.device(device).type
    for batch in iterate(split, sequential(split, batch_size), modalities, device):
        if transform is not None:
            batch = transform(batch)
        with torch.autocast(
            device_type, dtype=autocast_dtype or torch.bfloat16, enabled=autocast_dtype is not None
        ):
            outputs.append(model(batch).prediction.float().reshape(-1).cpu())
    model.train(was_training)
    prediction = torch.cat(outputs).numpy() if outputs else np.zeros(0, dtype=np.float32)
    return SplitPredictions(
        [str(i) for i in split.ids], prediction, np.asarray(split.labels, dtype=np.float32)
    )
