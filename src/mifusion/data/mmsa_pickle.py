"""MMSA pickles (aligned_50.pkl / unaligned_50.pkl; MOSI, MOSEI and SIMS layouts), read and written.

Layout (REFERENCE 4.2): ``{"train": {...}, "valid": {...}, "test": {...}}``, each split holding ``id``,
``regression_labels`` (SIMS: also ``regression_labels_T/_A/_V``), ``raw_text``, ``text`` (N, L, 768)
features, ``text_bert`` (N, 3, L) token ids / attention mask / segment ids, ``audio``, ``vision``
(N, T, D) and, in unaligned files, ``audio_lengths`` / ``vision_lengths``. MulT-era files pad on the
left; the reader detects it and returns right-padded sequences. mifusion's writer adds one top-level key,
:data:`META_KEY`, holding the dataset's meta as a JSON string (generator parameters survive a round trip).
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from mifusion.data.checks import real_array, whole_numbers
from mifusion.data.dataset import SPLITS, MultimodalDataset, SplitData
from mifusion.data.safe_pickle import safe_load
from mifusion.errors import DataError

META_KEY = "mifusion_meta"
UNIMODAL_KEYS: dict[str, str] = {"text": "T", "audio": "A", "vision": "V"}
log = logging.getLogger(__name__)


def _frame_mask(seq: np.ndarray) -> np.ndarray:
    """(N, T, D) -> (N, T) bool, True where a frame has any non-zero value (NaN counts as non-zero)."""
    return np.asarray((seq != 0).any(axis=-1))


def detect_left_padding(seq: np.ndarray, lengths: np.ndarray | None) -> bool:
    """True when ``seq`` keeps its valid frames at the end (left padding).

    With lengths: counts non-zero frames outside the valid region under each hypothesis. Without: counts
    samples whose first frame is empty but last is not (left) against the reverse (right).

    Example:
        >>> x = np.zeros((2, 3, 1)); x[0, 2] = x[1, 1:] = 1.0
        >>> detect_left_padding(x, np.array([1, 2])), detect_left_padding(x, None)
        (True, True)
    """
    frames = _frame_mask(seq)  # (N, T)
    steps = np.arange(seq.shape[1])[None, :]
    if lengths is not None:
        right_valid = steps < lengths[:, None]
        left_valid = steps >= (seq.shape[1] - lengths)[:, None]
        return int((frames & ~left_valid).sum()) < int((frames & ~right_valid).sum())
    left = int((~frames[:, 0] & frames[:, -1]).sum())
    right = int((frames[:, 0] & ~frames[:, -1]).sum())
    return left > right


def infer_lengths(seq: np.ndarray, left_padded: bool) -> np.ndarray:
    """(N, T, D) -> (N,) lengths from the all-zero padding frames."""
    frames = _frame_mask(seq)
    steps = seq.shape[1]
    any_frame = frames.any(axis=1)
    if left_padded:
        first = frames.argmax(axis=1)
        return np.where(any_frame, steps - first, 0).astype(np.int64)
    last = steps - 1 - frames[:, ::-1].argmax(axis=1)
    return np.where(any_frame, last + 1, 0).astype(np.int64)


def to_right_padding(seq: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Moves each sample's last ``lengths[i]`` frames to the front; padding becomes 0."""
    steps = seq.shape[1]
    index = np.arange(steps)[None, :] + (steps - lengths)[:, None]  # (N, T)
    valid = np.arange(steps)[None, :] < lengths[:, None]
    out = np.take_along_axis(seq, np.minimum(index, steps - 1)[:, :, None], axis=1)
    out[~valid] = 0
    return out


def _sequence(
    raw: dict[str, Any], key: str, lengths: np.ndarray | None, detect: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    seq = real_array(raw[key], key, "sequences")
    if seq.ndim != 3:
        raise DataError(f"field {key!r} has shape {seq.shape}; expected (N, T, D)")
    if lengths is not None and (lengths.min(initial=0) < 0 or lengths.max(initial=0) > seq.shape[1]):
        raise DataError(f"{key}_lengths must lie in [0, {seq.shape[1]}] (the padded length); fix them")
    left = detect and detect_left_padding(seq, lengths)
    if lengths is None:
        lengths = infer_lengths(seq, left)
    if left:
        seq = to_right_padding(seq, lengths)
    return seq, lengths


def _labels(value: Any, key: str, split: str) -> np.ndarray:
    """One real label per sample: (N,) as is, (N, 1) reshaped (with a message), anything else refused."""
    labels = real_array(value, key, f"split {split!r}")
    if labels.ndim == 2 and labels.shape[1] == 1:
        log.info("split %r: %s has shape %s; read as (%d,)", split, key, labels.shape, len(labels))
        labels = labels.reshape(-1)
    if labels.ndim != 1:
        raise DataError(f"split {split!r}: field {key!r} has shape {labels.shape}; expected (N,) or (N, 1)")
    return labels


def _split(raw: Any, name: str, layout_sims: bool) -> SplitData:
    if not isinstance(raw, dict):
        raise DataError(f"split {name!r} is a {type(raw).__name__}, expected a dict of arrays")
    for key in ("id", "regression_labels"):
        if key not in raw:
            raise DataError(f"split {name!r} has no key {key!r}; MMSA pickles need id and regression_labels")
    split = SplitData(
        name=name,
        ids=np.asarray([str(i) for i in np.asarray(raw["id"]).reshape(-1)]),
        labels=_labels(raw["regression_labels"], "regression_labels", name),
    )
    n = len(split.labels)
    for key, value in raw.items():
        rows = len(value) if hasattr(value, "__len__") else -1
        if rows != n:
            raise DataError(
                f"split {name!r}: field {key!r} has {rows} rows but labels has {n}; "
                "every field needs one row per sample"
            )
    if "raw_text" in raw:
        split.raw_text = [str(t) for t in np.asarray(raw["raw_text"]).reshape(-1)]
    text_lengths = None
    if "text_bert" in raw:
        bert = np.asarray(raw["text_bert"])
        if bert.ndim != 3 or bert.shape[1] < 2:
            raise DataError(f"split {name!r}: text_bert has shape {bert.shape}; expected (N, 3, L)")
        split.token_ids = whole_numbers(bert[:, 0], "text_bert[:, 0] (token ids)", f"split {name!r}")
        text_lengths = (bert[:, 1] > 0).sum(axis=1).astype(np.int64)
        split.token_lengths = text_lengths
    for m in ("text", "audio", "vision"):
        if m not in raw:
            continue
        given = raw.get(f"{m}_lengths", text_lengths if m == "text" else None)
        lengths = (
            None if given is None else whole_numbers(np.asarray(given).reshape(-1), f"{m}_lengths", "lengths")
        )
        try:
            # BERT features follow their right-padded token ids (their padding frames are not zero)
            detect = not (m == "text" and f"{m}_lengths" not in raw and text_lengths is not None)
            split.sequences[m], split.lengths[m] = _sequence(raw, m, lengths, detect)
        except DataError as err:
            raise DataError(f"split {name!r}: {err}") from None
    for m, suffix in UNIMODAL_KEYS.items():
        key = f"regression_labels_{suffix}"
        if key in raw:
            split.unimodal_labels[m] = _labels(raw[key], key, name)
    return split


def read_mmsa_pickle(path: str | Path) -> MultimodalDataset:
    """Reads an MMSA pickle through the restricted unpickler (sequences returned right-padded)."""
    path = Path(path)
    top = safe_load(path)
    if not isinstance(top, dict):
        raise DataError(f"{path}: top level is a {type(top).__name__}; expected a dict of splits")
    stored: dict[str, Any] = {}
    if META_KEY in top:
        try:
            stored = dict(json.loads(str(top[META_KEY])))
        except (ValueError, TypeError):
            raise DataError(f"{path}: key {META_KEY!r} is not a JSON object; re-export the file") from None
    missing = [s for s in SPLITS if s not in top]
    if missing:
        raise DataError(f"{path}: missing split {missing[0]!r}; MMSA pickles hold train, valid and test")
    layout_sims = any("regression_labels_T" in top[s] for s in SPLITS if isinstance(top[s], dict))
    splits = {}
    for name in SPLITS:
        try:
            splits[name] = _split(top[name], name, layout_sims)
        except DataError as err:
            raise DataError(f"{path}: {err}") from None
    has_length_arrays = any(f"{m}_lengths" in top[s] for s in SPLITS for m in ("audio", "vision"))
    pads = {s.sequences[m].shape[1] for s in splits.values() for m in s.sequences}
    meta: dict[str, Any] = {
        "aligned": not has_length_arrays and len(pads) <= 1,
        "label_range": (-1.0, 1.0) if layout_sims else (-3.0, 3.0),
        "tokenizer": ("bert-base-chinese" if layout_sims else "bert-base-uncased")
        if any(s.token_ids is not None for s in splits.values())
        else None,
    }
    meta.update(stored)
    if "label_range" in meta:
        meta["label_range"] = tuple(float(v) for v in meta["label_range"])
    meta.update({"source": str(path), "format": "mmsa"})
    return MultimodalDataset(splits=splits, meta=meta)


def _raw_split(split: SplitData) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "id": np.asarray(split.ids, dtype=object),
        "regression_labels": np.asarray(split.labels, dtype=np.float32),
    }
    if split.raw_text is not None:
        raw["raw_text"] = np.asarray(split.raw_text, dtype=object)
    if split.token_ids is not None:
        ids = np.asarray(split.token_ids, dtype=np.int64)
        lengths = split.token_lengths if split.token_lengths is not None else (ids != 0).sum(axis=1)
        mask = (np.arange(ids.shape[1])[None, :] < np.asarray(lengths)[:, None]).astype(np.int64)
        raw["text_bert"] = np.stack([ids, mask, np.zeros_like(ids)], axis=1)  # (N, 3, L)
    for m, seq in split.sequences.items():
        raw[m] = np.asarray(seq, dtype=np.float32)
        raw[f"{m}_lengths"] = np.asarray(split.lengths[m], dtype=np.int64)
    for m, values in split.unimodal_labels.items():
        raw[f"regression_labels_{UNIMODAL_KEYS[m]}"] = np.asarray(values, dtype=np.float32)
    return raw


def atomic_write(path: Path, write: Any) -> None:
    """Calls ``write(handle)`` on a temp file next to ``path``, then renames it over ``path``."""
    from mifusion.files import default_mode, hold, remove_stale_temps

    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(path)  # left by writers that were killed
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    held = hold(Path(tmp))
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            os.fchmod(handle.fileno(), default_mode())  # mkstemp's 0600 -> what open() would give
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    finally:
        if held is not None:
            os.close(held)


def save_mmsa_pickle(dataset: MultimodalDataset, path: str | Path) -> None:
    """Writes ``dataset`` in the MMSA pickle layout (right-padded, with length arrays), atomically."""
    top: dict[str, Any] = {name: _raw_split(split) for name, split in dataset.splits.items()}
    meta = {k: v for k, v in dataset.meta.items() if k not in ("source", "format", "finite", "nonfinite")}
    top[META_KEY] = json.dumps(meta, default=_json_default)
    atomic_write(Path(path), lambda handle: pickle.dump(top, handle, protocol=4))


def _json_default(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"meta value of type {type(value).__name__} is not JSON-serialisable")
