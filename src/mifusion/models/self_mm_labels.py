"""Self-MM's unimodal label generation module (ULGM; Yu et al., AAAI 2021).

For every training sample the ULGM keeps the latest (detached) fused and unimodal features and a generated
label per modality, initialised to the multimodal label. After each training batch it stores the batch's
features and recomputes, per modality, the centres of the samples whose (generated) label is positive and
negative; from the second epoch on, before storing, each sample's unimodal label moves towards

    y_m = 0.5 * (alpha_m * y_f) + 0.5 * (y_f + delta_m - delta_f),  alpha_m = delta_m / delta_f,
    delta_s = (||f_s - c_s^neg|| - ||f_s - c_s^pos||) / ||f_s - c_s^pos||   (s in {fusion, m})

clipped to [-H, H], with the running average ``y <- (n-1)/(n+1) y + 2/(n+1) y_new`` at epoch n (1-based).
The unimodal loss weights each sample by ``tanh(|y_m - y_f|)``.

Samples are keyed by their id (the batch's ``ids``); the memory is filled during the first epoch. MMSA
allocates it for the whole training split up front and, during the first epoch, averages the zero rows of
samples not yet seen into its centres; from the second epoch on, when labels start moving, both memories
hold every sample and agree. The memory lives in the model object, not in checkpoints: a resumed run
restarts label generation from the multimodal labels.
"""

from __future__ import annotations

import torch
from torch import Tensor

MIN = 1e-8


class UnimodalLabelMemory:
    """Per-sample features and generated labels for the modes ``fusion`` and each modality.

    Example:
        >>> memory = UnimodalLabelMemory({"fusion": 2, "text": 2}, bound=3.0)
        >>> rows = memory.rows(["a", "b"], torch.tensor([1.0, -1.0]))
        >>> memory.labels["text"][rows].tolist()
        [1.0, -1.0]
    """

    def __init__(self, dims: dict[str, int], bound: float) -> None:
        self.dims, self.bound = dims, bound
        self.index: dict[str, int] = {}
        self.features = {mode: torch.zeros(0, d) for mode, d in dims.items()}
        self.labels = {mode: torch.zeros(0) for mode in dims}
        self.centers = {mode: (torch.zeros(d), torch.zeros(d)) for mode, d in dims.items()}

    def rows(self, ids: list[str], labels: Tensor) -> Tensor:
        """(B,) memory rows of ``ids``; unseen ids get new rows with every label set to ``labels``."""
        new = [i for i, key in enumerate(ids) if key not in self.index]
        for i in new:
            self.index[ids[i]] = len(self.index)
        if new:
            fresh = labels.detach()[new].to(torch.float64)
            for mode in self.dims:
                self.labels[mode] = torch.cat([self.labels[mode], fresh])
                self.features[mode] = torch.cat(
                    [self.features[mode], fresh.new_zeros(len(new), self.dims[mode])]
                )
        return torch.tensor([self.index[key] for key in ids], dtype=torch.long)

    def lookup(self, ids: list[str], labels: Tensor) -> dict[str, Tensor]:
        """mode -> (B,) generated labels of ``ids`` without storing anything (unseen ids: ``labels``)."""
        out = {}
        for mode in self.dims:
            known = [self.labels[mode][self.index[key]] if key in self.index else None for key in ids]
            out[mode] = torch.stack(
                [
                    value if value is not None else labels[i].detach().to(torch.float64)
                    for i, value in enumerate(known)
                ]
            )
        return out

    def update(self, features: dict[str, Tensor], rows: Tensor, epoch: int) -> None:
        """After a training batch: new labels (from ``epoch`` 2, 1-based), stored features, new centres."""
        features = {mode: f.detach().to(torch.float64).cpu() for mode, f in features.items()}
        if epoch > 1:
            self._move_labels(features, rows, epoch)
        for mode, f in features.items():
            self.features[mode][rows] = f
        for mode in self.dims:
            positive, negative = self.labels[mode] > 0, self.labels[mode] < 0
            self.centers[mode] = (
                self.features[mode][positive].mean(0),
                self.features[mode][negative].mean(0),
            )

    def _delta(self, mode: str, f: Tensor) -> Tensor:
        positive, negative = self.centers[mode]
        to_positive = torch.norm(f - positive, dim=-1)
        return (torch.norm(f - negative, dim=-1) - to_positive) / (to_positive + MIN)

    def _move_labels(self, features: dict[str, Tensor], rows: Tensor, epoch: int) -> None:
        delta_f = self._delta("fusion", features["fusion"])
        y_f = self.labels["fusion"][rows]
        for mode, f in features.items():
            if mode == "fusion":
                continue
            delta_m = self._delta(mode, f)
            alpha = delta_m / (delta_f + MIN)
            new = (0.5 * alpha * y_f + 0.5 * (y_f + delta_m - delta_f)).clamp(-self.bound, self.bound)
            old = self.labels[mode][rows]
            self.labels[mode][rows] = (epoch - 1) / (epoch + 1) * old + 2 / (epoch + 1) * new
