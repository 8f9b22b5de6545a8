"""The one in-memory dataset model every reader produces.

A split stores its samples column-wise (numpy arrays, possibly memory-mapped), sequences right-padded
(valid frames first) with their true lengths. Any non-empty subset of modalities may be present:

- ``text``: raw strings, and/or token ids (``token_ids`` + ``token_lengths``), and/or precomputed
  features in ``sequences["text"]`` (N, L, D);
- ``audio``, ``vision``: ``sequences[m]`` (N, T, D) float32 with ``lengths[m]`` (N,).

A length of 0 is allowed: that sample has no frames of the modality and is masked out of it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mifusion.config import MODALITIES
from mifusion.errors import DataError

SPLITS: tuple[str, ...] = ("train", "valid", "test")


@dataclass
class SplitData:
    """One split, column-wise. All arrays share the first dimension N."""

    name: str
    ids: np.ndarray  # (N,) str
    labels: np.ndarray  # (N,) float32
    sequences: dict[str, np.ndarray] = field(default_factory=dict)  # m -> (N, T, D) float32
    lengths: dict[str, np.ndarray] = field(default_factory=dict)  # m -> (N,) int64
    token_ids: np.ndarray | None = None  # (N, L) int64, right-padded
    token_lengths: np.ndarray | None = None  # (N,) int64
    raw_text: list[str] | None = None
    unimodal_labels: dict[str, np.ndarray] = field(default_factory=dict)  # m -> (N,) float32

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    @property
    def modalities(self) -> tuple[str, ...]:
        """Modalities present in this split, in the fixed order text, audio, vision."""
        present = set(self.sequences)
        if self.token_ids is not None or self.raw_text is not None:
            present.add("text")
        return tuple(m for m in MODALITIES if m in present)

    def validate(self, source: str = "<memory>") -> None:
        """Raises DataError when arrays disagree on N or lengths exceed the padded length."""
        n = len(self)
        where = f"{source}: split {self.name!r}"
        if n == 0:
            raise DataError(f"{where} is empty; every split needs at least one sample")
        columns: dict[str, Any] = {"ids": self.ids, **{f"lengths[{k}]": v for k, v in self.lengths.items()}}
        columns.update({k: v for k, v in self.sequences.items()})
        if self.token_ids is not None:
            columns["token_ids"] = self.token_ids
        if self.raw_text is not None:
            columns["raw_text"] = self.raw_text
        for key, value in columns.items():
            if len(value) != n:
                raise DataError(
                    f"{where}: field {key!r} has {len(value)} rows but labels has {n}; "
                    "every field needs one row per sample"
                )
        for key, seq in self.sequences.items():
            lengths = self.lengths.get(key)
            if lengths is None:
                raise DataError(f"{where}: {key!r} has no lengths; readers must supply them")
            if lengths.min(initial=0) < 0 or lengths.max(initial=0) > seq.shape[1]:
                raise DataError(
                    f"{where}: {key}_lengths must lie in [0, {seq.shape[1]}] "
                    f"(the padded length); fix the lengths array"
                )
        if len(set(self.ids.tolist())) != n:
            raise DataError(f"{where}: duplicate sample ids; ids must be unique within a split")
        if not np.isfinite(self.labels).all():
            raise DataError(f"{where}: field 'labels' holds NaN or inf; remove or fix those samples")

    def subset(self, index: np.ndarray) -> SplitData:
        """A new split holding only the rows ``index`` (copies)."""
        return SplitData(
            name=self.name,
            ids=self.ids[index],
            labels=self.labels[index],
            sequences={k: np.asarray(v[index]) for k, v in self.sequences.items()},
            lengths={k: v[index] for k, v in self.lengths.items()},
            token_ids=None if self.token_ids is None else self.token_ids[index],
            token_lengths=None if self.token_lengths is None else self.token_lengths[index],
            raw_text=None if self.raw_text is None else [self.raw_text[i] for i in index],
            unimodal_labels={k: v[index] for k, v in self.unimodal_labels.items()},
        )


@dataclass
class MultimodalDataset:
    """Splits by name plus metadata (source format, generator parameters, tokenizer of token ids)."""

    splits: dict[str, SplitData]
    meta: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, name: str) -> SplitData:
        try:
            return self.splits[name]
        except KeyError:
            source = self.meta.get("source", "<memory>")
            have = ", ".join(self.splits) or "none"
            raise DataError(f"{source}: no split {name!r} (have: {have})") from None

    def __iter__(self) -> Iterator[SplitData]:
        return iter(self.splits.values())

    @property
    def modalities(self) -> tuple[str, ...]:
        """Modalities present in every split."""
        sets = [set(s.modalities) for s in self.splits.values()]
        common = set.intersection(*sets) if sets else set()
        return tuple(m for m in MODALITIES if m in common)

    def feature_dims(self) -> dict[str, int]:
        """Feature dimension per sequence modality; raises if splits disagree."""
        dims: dict[str, int] = {}
        for split in self.splits.values():
            for key, seq in split.sequences.items():
                dim = int(seq.shape[-1])
                if dims.setdefault(key, dim) != dim:
                    raise DataError(
                        f"{self.meta.get('source', '<memory>')}: {key} has {dim} features per frame in "
                        f"split {split.name!r} but {dims[key]} in another split; all splits must agree"
                    )
        return dims

    def validate(self) -> None:
        """Validates every split and the cross-split feature dimensions."""
        source = str(self.meta.get("source", "<memory>"))
        for split in self.splits.values():
            split.validate(source)
        self.feature_dims()


def lengths_to_mask(lengths: np.ndarray, max_len: int) -> np.ndarray:
    """(N,) lengths -> (N, max_len) bool mask, True where a position is valid."""
    return np.arange(max_len)[None, :] < np.asarray(lengths)[:, None]
