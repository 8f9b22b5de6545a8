"""CMU-MultimodalSDK computational sequences (``.csd``, HDF5), aligned the way the SDK aligns them.

A sequence file holds one root group named after the sequence, with ``data/<video id>/features`` (T, D)
and ``data/<video id>/intervals`` (T, 2, seconds) and ``metadata/<key>`` JSON strings (REFERENCE 4.4).

A dataset is a directory of sequences: one per modality, one label sequence, and the folds. Modalities
come from ``csd.json`` in the directory (``{"text": "glove.csd", "audio": "covarep.csd", "vision":
"facet.csd", "labels": "labels.csd", "reference": "text", "folds": "folds.json"}``) or, without it, from
the file names (label / glove|word|text|bert / covarep|opensmile|audio / facet|openface|vision).
With a ``reference`` modality, every other modality is first averaged over each reference interval
(word-level alignment: the unweighted mean of the frames that overlap it, as the SDK's average
collapse function). Each label interval then becomes one sample ``video[k]`` holding the frames of each
modality that overlap it. Folds map split names to lists of video ids (a JSON file, or a text file of
``split video_id`` lines).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mifusion.config import MODALITIES
from mifusion.data.dataset import MultimodalDataset, SplitData
from mifusion.errors import DataError

EPSILON = 1e-3  # the SDK's tolerance (10e-4) when intersecting intervals
NAME_HINTS: dict[str, tuple[str, ...]] = {
    "labels": ("label",),
    "text": ("glove", "word", "text", "bert"),
    "audio": ("covarep", "opensmile", "audio"),
    "vision": ("facet", "openface", "vision", "visual"),
}
log = logging.getLogger(__name__)


@dataclass
class ComputationalSequence:
    """One computational sequence: per video id, features (T, D) and intervals (T, 2)."""

    name: str
    data: dict[str, tuple[np.ndarray, np.ndarray]]
    metadata: dict[str, Any]


def _refuse_external_links(handle: Any, path: Path) -> None:
    """DataError when the file links to another HDF5 file (reads must stay inside the dataset)."""
    import h5py

    def visit(name: str, group: Any) -> None:
        if not isinstance(group, h5py.Group):
            return
        for key in group:
            if isinstance(group.get(key, getlink=True), h5py.ExternalLink):
                raise DataError(
                    f"{path}: {name}/{key} is an external link to another file; mifusion reads only what "
                    "the dataset folder holds: copy the data into this file"
                )

    visit("", handle)
    handle.visititems(visit)


def _read_numbers(dataset: Any, path: Path, name: str) -> np.ndarray:
    """Reads an HDF5 dataset after checking its declared dtype and size (before allocating)."""
    from mifusion.files import check_memory

    kind = dataset.dtype.kind
    if kind not in "fiu":
        raise DataError(
            f"{path}: {name} has dtype {dataset.dtype}; computational sequences hold real numbers"
        )
    check_memory(
        float(np.prod(dataset.shape, dtype=np.float64)) * max(dataset.dtype.itemsize, 4) * 2,
        f"{path}: {name} (declared shape {dataset.shape})",
        "the file is corrupt or too large for this machine",
    )
    return np.asarray(dataset[()])


def _read_words(dataset: Any, path: Path, name: str) -> np.ndarray:
    """Reads an HDF5 dataset of words (byte or variable-length strings, e.g. CMU-SDK's ``words``) as (T, 1) str."""
    from mifusion.files import check_memory

    if dataset.dtype.kind not in "SO":
        raise DataError(f"{path}: {name} has dtype {dataset.dtype}; a words sequence holds strings")
    check_memory(
        float(np.prod(dataset.shape, dtype=np.float64)) * max(dataset.dtype.itemsize, 16) * 4,
        f"{path}: {name} (declared shape {dataset.shape})",
        "the file is corrupt or too large for this machine",
    )
    raw = np.asarray(dataset[()]).reshape(-1)
    words = [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in raw.tolist()]
    return np.asarray(words, dtype=str).reshape(-1, 1)


def read_sequence(path: str | Path, words: bool = False) -> ComputationalSequence:
    """Reads one .csd file (raises DataError on a malformed or truncated file).

    ``words=True`` reads a words sequence (CMU-SDK's ``TimestampedWords``): its features are strings,
    returned as a (T, 1) str array.
    """
    import h5py

    from mifusion.files import require_regular_file

    path = require_regular_file(path, ".csd file")
    try:
        with h5py.File(path, "r") as handle:
            roots = list(handle.keys())
            if len(roots) != 1 or "data" not in handle[roots[0]]:
                raise DataError(
                    f"{path}: expected one root group holding 'data'; not a computational sequence"
                )
            root = handle[roots[0]]
            data = {}
            _refuse_external_links(handle, path)
            for vid, group in root["data"].items():
                if "features" not in group or "intervals" not in group:
                    raise DataError(f"{path}: video {vid!r} lacks 'features' or 'intervals'")
                if words:
                    feats = _read_words(group["features"], path, f"data/{vid}/features")
                else:
                    feats = _read_numbers(group["features"], path, f"data/{vid}/features")
                    feats = feats.reshape(len(feats), -1).astype(np.float32, copy=False)
                intervals = _read_numbers(group["intervals"], path, f"data/{vid}/intervals").astype(
                    np.float64
                )
                if intervals.shape != (len(feats), 2):
                    raise DataError(
                        f"{path}: video {vid!r} has {len(feats)} frames but intervals of shape "
                        f"{intervals.shape}; expected ({len(feats)}, 2)"
                    )
                data[str(vid)] = (feats, intervals)
            metadata = {}
            for key, value in root.get("metadata", {}).items():
                raw = value[()]
                metadata[key] = raw.decode() if isinstance(raw, bytes) else str(raw)
    except DataError:
        raise
    except (OSError, KeyError, ValueError) as err:
        raise DataError(f"{path}: unreadable HDF5 ({err}); the file is malformed or truncated") from None
    return ComputationalSequence(name=roots[0], data=data, metadata=metadata)


def overlapping(intervals: np.ndarray, start: float, end: float) -> np.ndarray:
    """Indices of ``intervals`` whose intersection with [start, end] has positive length (SDK rule)."""
    hit = (intervals[:, 0] < end + EPSILON) & (intervals[:, 1] > start - EPSILON)
    clipped = np.minimum(intervals[:, 1], end) - np.maximum(intervals[:, 0], start)
    return np.flatnonzero(hit & (np.abs(clipped) > EPSILON))


def align_to_reference(features: np.ndarray, intervals: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Averages the frames overlapping each reference interval: (T, D) -> (T_ref, D); none -> zeros.

    Example:
        >>> f = np.array([[1.0], [3.0], [5.0]]); iv = np.array([[0, 1], [1, 2], [2, 3]])
        >>> align_to_reference(f, iv, np.array([[0.0, 2.0], [2.5, 3.0]])).ravel().tolist()
        [2.0, 5.0]
    """
    out = np.zeros((len(reference), features.shape[1]), dtype=np.float32)
    for i, (start, end) in enumerate(reference):
        index = overlapping(intervals, start, end)
        if len(index):
            out[i] = features[index].mean(axis=0)
    return out


def _regular(path: Path) -> Path:
    from mifusion.files import require_regular_file

    return require_regular_file(path, "JSON file")


def _config(root: Path) -> dict[str, Any]:
    cfg_path = root / "csd.json"
    if cfg_path.is_file():
        try:
            return dict(json.loads(_regular(cfg_path).read_text()))
        except ValueError as err:
            raise DataError(f"{cfg_path}: malformed JSON ({err})") from None
    cfg: dict[str, Any] = {}
    for file in sorted(root.glob("*.csd")):
        lower = file.stem.lower()
        for role, hints in NAME_HINTS.items():
            if role not in cfg and any(h in lower for h in hints):
                cfg[role] = file.name
                break
    if (root / "folds.json").is_file():
        cfg["folds"] = "folds.json"
    return cfg


def _member(root: Path, cfg: dict[str, Any], role: str) -> Path:
    """The file csd.json names for ``role``, which must be a name inside ``root`` (symlinks followed)."""
    from mifusion.data.checks import inside

    name = cfg[role]
    if not isinstance(name, str):
        raise DataError(f"{root}/csd.json: field {role!r} must be a file name, got {name!r}")
    return inside(root, root / name, f"{root}/csd.json: field {role!r}")


def read_folds(folds: Any, root: Path) -> dict[str, set[str]]:
    """Folds from a dict, a JSON file ``{split: [video ids]}`` or a text file of ``split video_id`` lines."""
    if isinstance(folds, str | Path):
        path = Path(folds) if Path(folds).is_absolute() else root / folds
        from mifusion.files import require_regular_file

        try:
            text = require_regular_file(path, "folds file").read_text()
        except OSError as err:
            raise DataError(f"{path}: cannot read folds file ({err.strerror})") from None
        try:
            folds = json.loads(text)
        except ValueError:
            parsed: dict[str, list[str]] = {}
            for number, line in enumerate(text.splitlines(), 1):
                parts = line.split()
                if len(parts) == 0:
                    continue
                if len(parts) != 2:
                    raise DataError(f"{path}: line {number}: expected 'split video_id'") from None
                parsed.setdefault(parts[0], []).append(parts[1])
            folds = parsed
    if not isinstance(folds, dict) or not folds:
        raise DataError(f"{root}: folds must map split names to lists of video ids")
    return {str(k): {str(v) for v in vids} for k, vids in folds.items()}


def read_csd_dataset(path: str | Path, folds: Any = None) -> MultimodalDataset:
    """Builds a dataset from a directory of .csd sequences (a .csd file means its directory)."""
    root = Path(path)
    root = root.parent if root.is_file() else root
    cfg = _config(root)
    if "labels" not in cfg:
        raise DataError(f"{root}: no label sequence; name it in csd.json ('labels') or call it *label*.csd")
    folds = folds if folds is not None else cfg.get("folds")
    if folds is None:
        raise DataError(f"{root}: no folds; pass folds= (JSON or text file) or add 'folds' to csd.json")
    fold_of = {vid: split for split, vids in read_folds(folds, root).items() for vid in vids}
    labels = read_sequence(_member(root, cfg, "labels"))
    seqs = {m: read_sequence(_member(root, cfg, m)) for m in MODALITIES if m in cfg}
    if not seqs:
        raise DataError(f"{root}: no feature sequences found; name them in csd.json")
    reference = cfg.get("reference")
    if reference is not None and reference not in seqs:
        raise DataError(f"{root}: reference {reference!r} is not one of the modalities {sorted(seqs)}")
    rows: dict[str, list[tuple[str, float, dict[str, np.ndarray]]]] = {}
    dropped = 0
    for vid, (label_feats, label_iv) in labels.data.items():
        split = fold_of.get(vid)
        if split is None:
            dropped += len(label_feats)
            continue
        frames = {}
        for m, seq in seqs.items():
            if vid not in seq.data:
                continue
            feats, iv = seq.data[vid]
            if reference is not None and m != reference and vid in seqs[reference].data:
                iv = seqs[reference].data[vid][1]
                feats = align_to_reference(*seq.data[vid], iv)
            frames[m] = (feats, iv)
        for k, (start, end) in enumerate(label_iv):
            sample = {m: f[overlapping(iv, start, end)] for m, (f, iv) in frames.items()}
            rows.setdefault(split, []).append((f"{vid}[{k}]", float(label_feats[k, 0]), sample))
    if dropped:
        log.info("%s: %d labelled segments belong to videos in no fold and were left out", root, dropped)
    dims = {m: next(iter(s.data.values()))[0].shape[1] for m, s in seqs.items() if s.data}
    longest = {m: max((len(r[2].get(m, ())) for rs in rows.values() for r in rs), default=0) for m in dims}
    splits = {}
    for split, samples in rows.items():
        data = SplitData(
            name=split,
            ids=np.asarray([s[0] for s in samples]),
            labels=np.asarray([s[1] for s in samples], dtype=np.float32),
        )
        for m, dim in dims.items():
            padded = np.zeros((len(samples), max(longest[m], 1), dim), dtype=np.float32)
            lengths = np.zeros(len(samples), dtype=np.int64)
            for i, (_, _, sample) in enumerate(samples):
                if m in sample:
                    lengths[i] = len(sample[m])
                    padded[i, : lengths[i]] = sample[m]
            data.sequences[m], data.lengths[m] = padded, lengths
        splits[split] = data
    for split in read_folds(folds, root):
        if split not in splits:
            raise DataError(f"{root}: split {split!r} is empty (no labelled segment of its videos)")
    meta = {
        "source": str(root),
        "format": "csd",
        "aligned": reference is not None,
        "label_range": (-3.0, 3.0),
        "tokenizer": None,
        "sequences": {m: s.name for m, s in seqs.items()},
    }
    return MultimodalDataset(splits=splits, meta=meta)
