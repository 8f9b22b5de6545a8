"""Batches: dynamic padding, lengths, boolean masks (True = valid), per-sample availability, ids."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import torch
from torch import Tensor

from mifusion.data.dataset import SplitData


@dataclass
class MultimodalBatch:
    """A padded batch of B samples.

    Attributes:
        ids: B sample ids.
        labels: (B,) float32 targets.
        sequences: modality -> (B, T, D) float features, right-padded to the batch's longest sample.
        lengths: modality -> (B,) int64 true lengths (0 = no frames).
        masks: modality -> (B, T) bool, True where a frame is valid.
        token_ids: (B, L) int64 token ids, right-padded, or None.
        token_mask: (B, L) bool, True at real tokens, or None.
        present: modality -> (B,) bool, True where the sample has that modality (not empty, not dropped).
        unimodal_labels: modality -> (B,) float32 (CH-SIMS), possibly empty.
    """

    ids: list[str]
    labels: Tensor
    sequences: dict[str, Tensor] = field(default_factory=dict)
    lengths: dict[str, Tensor] = field(default_factory=dict)
    masks: dict[str, Tensor] = field(default_factory=dict)
    token_ids: Tensor | None = None
    token_mask: Tensor | None = None
    present: dict[str, Tensor] = field(default_factory=dict)
    unimodal_labels: dict[str, Tensor] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    @property
    def modalities(self) -> tuple[str, ...]:
        """Modalities this batch carries, in the fixed order."""
        return tuple(self.present)

    def to(self, device: torch.device | str, non_blocking: bool = False) -> MultimodalBatch:
        """A copy with every tensor on ``device``."""

        def move(d: dict[str, Tensor]) -> dict[str, Tensor]:
            return {k: v.to(device, non_blocking=non_blocking) for k, v in d.items()}

        return replace(
            self,
            labels=self.labels.to(device, non_blocking=non_blocking),
            sequences=move(self.sequences),
            lengths=move(self.lengths),
            masks=move(self.masks),
            token_ids=None
            if self.token_ids is None
            else self.token_ids.to(device, non_blocking=non_blocking),
            token_mask=None
            if self.token_mask is None
            else self.token_mask.to(device, non_blocking=non_blocking),
            present=move(self.present),
            unimodal_labels=move(self.unimodal_labels),
        )

    def without(self, modalities: Sequence[str]) -> MultimodalBatch:
        """A copy in which ``modalities`` are masked out of every sample (present False, lengths 0)."""
        out = replace(self, present=dict(self.present), lengths=dict(self.lengths), masks=dict(self.masks))
        for m in modalities:
            if m in out.present:
                out.present[m] = torch.zeros_like(out.present[m])
            if m in out.lengths:
                out.lengths[m] = torch.zeros_like(out.lengths[m])
                out.masks[m] = torch.zeros_like(out.masks[m])
            if m == "text" and out.token_mask is not None:
                out.token_mask = torch.zeros_like(out.token_mask)
        return out


def _pad_trim(array: np.ndarray, index: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Gathers rows ``index`` and trims the time axis to the longest selected sample (at least 1)."""
    longest = max(int(lengths.max(initial=0)), 1)
    return np.asarray(array[index, :longest])


def collate(
    split: SplitData, index: Sequence[int] | np.ndarray, modalities: Sequence[str]
) -> MultimodalBatch:
    """Builds a batch from rows ``index`` of ``split`` for the requested ``modalities``.

    Sequences are padded only to the longest sample of the batch (dynamic padding). Text is taken as
    token ids when the split has them, else as precomputed features from ``sequences["text"]``.
    """
    index = np.asarray(index, dtype=np.int64)
    batch = MultimodalBatch(
        ids=[str(i) for i in split.ids[index]],
        labels=torch.as_tensor(np.asarray(split.labels[index], dtype=np.float32)),
    )
    for m in modalities:
        if m == "text" and split.token_ids is not None and split.token_lengths is not None:
            lengths = np.asarray(split.token_lengths[index], dtype=np.int64)
            ids = _pad_trim(split.token_ids, index, lengths)
            batch.token_ids = torch.as_tensor(ids, dtype=torch.long)
            batch.token_mask = torch.arange(ids.shape[1])[None, :] < torch.as_tensor(lengths)[:, None]
            batch.present[m] = torch.as_tensor(lengths > 0)
            continue
        if m not in split.sequences:
            continue
        lengths = np.asarray(split.lengths[m][index], dtype=np.int64)
        seq = _pad_trim(split.sequences[m], index, lengths).astype(np.float32, copy=False)
        length_t = torch.as_tensor(lengths)
        batch.sequences[m] = torch.as_tensor(seq)
        batch.lengths[m] = length_t
        batch.masks[m] = torch.arange(seq.shape[1])[None, :] < length_t[:, None]
        batch.present[m] = length_t > 0
    for m, values in split.unimodal_labels.items():
        batch.unimodal_labels[m] = torch.as_tensor(np.asarray(values[index], dtype=np.float32))
    return batch
