"""What a dataset file declares is a claim to check, not a fact: shapes, dtypes, token ids, meta, paths.

:func:`check_arrays` runs on every dataset :func:`mifusion.data.io.load_dataset` returns (after the
reader, before anything uses the arrays): labels are one real number per sample, sequences real, lengths
and token ids whole numbers within their bounds, token ids inside the declared vocabulary.
:func:`check_meta` checks the types of the meta fields mifusion reads. :func:`inside` refuses a path
(after symlinks) that leaves the dataset folder. Every error names the file, split and field.

Example:
    >>> import numpy as np
    >>> whole_numbers(np.array([3.0, 4.0]), "lengths.audio", "f.pkl").tolist()
    [3, 4]
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from mifusion.errors import DataError

__all__ = ["check_arrays", "check_meta", "inside", "real_array", "whole_numbers"]


def real_array(value: Any, field: str, where: str, dtype: Any = np.float32) -> np.ndarray:
    """``value`` as a real ``dtype`` array; DataError for complex, text, boolean or object contents."""
    array = np.asarray(value)
    if array.dtype.kind == "O":
        try:
            array = np.asarray(array.tolist(), dtype=np.float64)
        except (TypeError, ValueError):
            raise DataError(f"{where}: field {field!r} holds non-numbers; store real numbers") from None
    if array.dtype.kind not in "fiu":
        kind = {"c": "complex", "b": "boolean", "U": "text", "S": "bytes", "M": "dates"}.get(array.dtype.kind)
        raise DataError(
            f"{where}: field {field!r} has {kind or array.dtype.str} values; store real numbers "
            f"(float32) instead"
        )
    return array.astype(dtype, copy=False)


def whole_numbers(value: Any, field: str, where: str) -> np.ndarray:
    """``value`` as int64; DataError when it holds fractions, non-finite or non-real values."""
    array = real_array(value, field, where, np.float64) if np.asarray(value).dtype.kind not in "iu" else value
    array = np.asarray(array)
    if array.dtype.kind == "f":
        bad = ~np.isfinite(array) | (array != np.round(array))
        if bad.any():
            raise DataError(
                f"{where}: field {field!r} holds {int(bad.sum())} non-integer value(s) (first: "
                f"{float(array[bad].flat[0])!r}); it counts frames or tokens, store whole numbers"
            )
    return array.astype(np.int64, copy=False)


def _labels(split: Any, where: str) -> None:
    columns = {"labels": split.labels, **{f"labels_{m}": v for m, v in split.unimodal_labels.items()}}
    for field, values in columns.items():
        array = np.asarray(values)
        if array.ndim != 1:
            raise DataError(
                f"{where}: field {field!r} has shape {array.shape}; labels are one value per sample, shape "
                f"(N,) (reshape with labels.reshape(-1) and re-export)"
            )
        real_array(array, field, where)


def check_arrays(dataset: Any) -> None:
    """Refuses arrays whose shapes or types are not what the dataset model promises (DataError)."""
    source = str(dataset.meta.get("source", "<memory>"))
    vocab = dataset.meta.get("vocab_size")
    for split in dataset:
        where = f"{source}: split {split.name!r}"
        _labels(split, where)
        for m, seq in split.sequences.items():
            if np.asarray(seq[:0]).dtype.kind not in "fiu" or seq.ndim != 3:
                raise DataError(
                    f"{where}: field 'sequences.{m}' has shape {seq.shape} and dtype {seq.dtype}; expected "
                    "(N, T, D) real numbers (float32)"
                )
            split.lengths[m] = whole_numbers(split.lengths[m], f"lengths.{m}", where)
            if split.lengths[m].ndim != 1:
                raise DataError(
                    f"{where}: field 'lengths.{m}' has shape {split.lengths[m].shape}; expected (N,)"
                )
        if split.token_ids is not None:
            ids = whole_numbers(split.token_ids, "token_ids", where)
            if ids.ndim != 2:
                raise DataError(f"{where}: field 'token_ids' has shape {ids.shape}; expected (N, L)")
            low, high = int(ids.min(initial=0)), int(ids.max(initial=0))
            if low < 0 or (vocab and high >= int(vocab)):
                bound = f"[0, {int(vocab) - 1}] (vocab_size {vocab})" if vocab else "[0, ...)"
                raise DataError(
                    f"{where}: field 'token_ids' holds ids from {low} to {high}, outside {bound}; "
                    "the ids come from another vocabulary: re-tokenise the raw text or fix meta vocab_size"
                )
            split.token_ids = ids
            lengths = split.token_lengths
            if lengths is not None:
                lengths = whole_numbers(lengths, "token_lengths", where)
                if (
                    lengths.shape != (len(split),)
                    or lengths.min(initial=0) < 0
                    or lengths.max(initial=0) > ids.shape[1]
                ):
                    raise DataError(
                        f"{where}: field 'token_lengths' must be (N,) whole numbers in [0, {ids.shape[1]}]"
                    )
                split.token_lengths = lengths


def check_meta(meta: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Checks the types of the meta fields mifusion reads; returns a copy with label_range a tuple."""
    out = dict(meta)
    for key in ("aligned", "finite"):
        if key in out and not isinstance(out[key], bool):
            raise DataError(f"{where}: field {key!r} must be true or false, got {out[key]!r}")
    if "label_range" in out:
        value = out["label_range"]
        ok = isinstance(value, list | tuple) and len(value) == 2
        ok = ok and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
        if not ok or not np.isfinite(value).all() or value[0] >= value[1]:
            raise DataError(
                f"{where}: field 'label_range' must be [low, high] with low < high, got {value!r}"
            )
        out["label_range"] = (float(value[0]), float(value[1]))
    vocab = out.get("vocab_size")
    if vocab is not None and (isinstance(vocab, bool) or not isinstance(vocab, int) or vocab < 1):
        raise DataError(f"{where}: field 'vocab_size' must be a positive integer or null, got {vocab!r}")
    tokenizer = out.get("tokenizer")
    if tokenizer is not None and not isinstance(tokenizer, str):
        raise DataError(f"{where}: field 'tokenizer' must be a name (text) or null, got {tokenizer!r}")
    return out


def inside(root: Path, path: Path, where: str) -> Path:
    """``path`` resolved (symlinks followed); DataError when it lies outside ``root``."""
    real, base = path.resolve(), root.resolve()
    if real != base and base not in real.parents:
        raise DataError(
            f"{where}: {path} leads outside the dataset folder (to {real}); copy the file into {root} "
            "instead of linking to it"
        )
    return real
