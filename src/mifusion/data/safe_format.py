"""mifusion's safe format: a directory of ``.npy`` arrays plus ``manifest.json``.

Loading it never executes code (``np.load(..., allow_pickle=False)``) and maps every array into memory
(``mmap_mode="r"``), so opening a 5 GB dataset costs almost no RAM. Layout::

    DIR/manifest.json          {"format": "mifusion-safe", "version": 1, "meta": {...},
                                "splits": {"train": {"n": N, "arrays": {NAME: {"file", "shape", "dtype"}}}}}
    DIR/<split>/<NAME>.npy     NAME in ids, labels, raw_text, token_ids, token_lengths,
                               sequences.<m>, lengths.<m>, unimodal_labels.<m>

Strings are stored as fixed-width unicode arrays. Sequences are float32, right-padded, with lengths.
Non-finite values are replaced (or refused) when the data is written; the manifest records that the
arrays are finite so reading does not have to scan them.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from mifusion.data.checks import check_meta, inside
from mifusion.data.dataset import MultimodalDataset, SplitData
from mifusion.errors import DataError, MifusionError
from mifusion.files import default_mode, hold, remove_stale_temps, require_regular_file

MANIFEST = "manifest.json"
FORMAT_NAME = "mifusion-safe"
VERSION = 1


def _columns(split: SplitData) -> dict[str, np.ndarray]:
    cols: dict[str, np.ndarray] = {
        "ids": np.asarray(split.ids).astype(str),
        "labels": np.asarray(split.labels, dtype=np.float32),
    }
    if split.raw_text is not None:
        cols["raw_text"] = np.asarray(split.raw_text, dtype=str)
    if split.token_ids is not None:
        cols["token_ids"] = np.asarray(split.token_ids, dtype=np.int64)
    if split.token_lengths is not None:
        cols["token_lengths"] = np.asarray(split.token_lengths, dtype=np.int64)
    for m, seq in split.sequences.items():
        cols[f"sequences.{m}"] = seq if seq.dtype == np.float32 else np.asarray(seq, dtype=np.float32)
        cols[f"lengths.{m}"] = np.asarray(split.lengths[m], dtype=np.int64)
    for m, values in split.unimodal_labels.items():
        cols[f"unimodal_labels.{m}"] = np.asarray(values, dtype=np.float32)
    return cols


def save_safe(dataset: MultimodalDataset, path: str | Path) -> None:
    """Writes ``dataset`` to the directory ``path`` in the safe format, atomically (temp dir + rename)."""
    path = Path(path)
    if path.exists() and not (path / MANIFEST).is_file():
        raise DataError(f"{path}: exists and is not a mifusion safe-format directory; choose a new path")
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(path)  # left by writers that were killed
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"))
    held = hold(tmp)
    tmp.chmod(default_mode(directory=True))  # mkdtemp's 0700 -> what mkdir would give
    try:
        splits: dict[str, Any] = {}
        finite = True
        for name, split in dataset.splits.items():
            (tmp / name).mkdir()
            arrays = {}
            for key, array in _columns(split).items():
                if key.startswith("sequences."):
                    finite = finite and _all_finite(array)
                rel = f"{name}/{key}.npy"
                np.save(tmp / rel, array, allow_pickle=False)
                arrays[key] = {"file": rel, "shape": list(array.shape), "dtype": array.dtype.str}
            splits[name] = {"n": len(split), "arrays": arrays}
        meta = {k: v for k, v in dataset.meta.items() if k not in ("source", "format", "finite", "nonfinite")}
        manifest = {
            "format": FORMAT_NAME,
            "version": VERSION,
            "finite": finite,
            "meta": meta,
            "splits": splits,
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1, default=_json_default))
        if path.exists():
            old = path.with_name(f".{path.name}.old")
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        if held is not None:
            os.close(held)


def _all_finite(array: np.ndarray, rows: int = 1024) -> bool:
    """Whether every value is finite, checked in chunks of ``rows`` samples (bounded memory)."""
    return all(bool(np.isfinite(array[i : i + rows]).all()) for i in range(0, len(array), rows))


def _json_default(value: Any) -> Any:
    if isinstance(value, np.ndarray | np.generic):
        return value.tolist()
    raise TypeError(f"meta value of type {type(value).__name__} is not JSON-serialisable")


def _load_array(root: Path, split: str, key: str, entry: Any) -> np.ndarray:
    where = f"{root}: split {split!r}, array {key!r}"
    try:
        if not isinstance(entry, dict) or not isinstance(entry["file"], str):
            raise TypeError
        rel = Path(entry["file"])
        if rel.is_absolute() or ".." in rel.parts:
            raise DataError(f"{where}: file {rel} lies outside the dataset directory; fix the manifest")
        inside(root, root / rel, where)  # a symlink may not lead out of the folder either
        require_regular_file(root / rel, ".npy file")  # stat first: opening a FIFO would block
        array = np.load(root / rel, mmap_mode="r", allow_pickle=False)
    except MifusionError:
        raise
    except (KeyError, TypeError):
        raise DataError(
            f"{where}: manifest entry lacks 'file'; re-export with mifusion data convert"
        ) from None
    except (OSError, ValueError) as err:
        raise DataError(
            f"{where}: unreadable .npy ({err}); the file is missing, truncated or unsafe"
        ) from None
    if array.dtype.kind not in "fiuU":
        raise DataError(f"{where}: dtype {array.dtype} is not stored by mifusion (real numbers or text)")
    if list(array.shape) != list(entry.get("shape", array.shape)):
        raise DataError(f"{where}: shape {array.shape} differs from the manifest's {entry['shape']}")
    return array


def read_safe(path: str | Path) -> MultimodalDataset:
    """Opens a safe-format directory with every array memory-mapped (read-only)."""
    root = Path(path)
    try:
        manifest = json.loads(require_regular_file(root / MANIFEST, "manifest").read_text())
    except OSError as err:
        raise DataError(f"{root}: cannot read {MANIFEST} ({err.strerror})") from None
    except ValueError as err:
        raise DataError(f"{root / MANIFEST}: malformed JSON ({err}); re-export the dataset") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
        raise DataError(f"{root / MANIFEST}: not a {FORMAT_NAME} manifest (format key missing or wrong)")
    where = str(root / MANIFEST)
    for key, kind in (("splits", dict), ("meta", dict), ("finite", bool)):
        if key in manifest and not isinstance(manifest[key], kind):
            expected = "true or false" if kind is bool else "a JSON object"
            raise DataError(
                f"{where}: field {key!r} must be {expected}, got {manifest[key]!r}; fix or re-export"
            )
    splits: dict[str, SplitData] = {}
    for name, spec in dict(manifest.get("splits", {})).items():
        if not isinstance(spec, dict) or not isinstance(spec.get("arrays", {}), dict):
            raise DataError(f"{where}: field 'splits.{name}' must hold an 'arrays' object; re-export")
        arrays = {k: _load_array(root, name, k, e) for k, e in dict(spec.get("arrays", {})).items()}
        for key in ("ids", "labels"):
            if key not in arrays:
                raise DataError(f"{root}: split {name!r} has no array {key!r}; re-export the dataset")
        split = SplitData(name=name, ids=np.asarray(arrays["ids"]), labels=arrays["labels"])
        if "raw_text" in arrays:
            split.raw_text = [str(t) for t in arrays["raw_text"]]
        split.token_ids = arrays.get("token_ids")
        split.token_lengths = arrays.get("token_lengths")
        for key, array in arrays.items():
            group, _, m = key.partition(".")
            if group == "sequences":
                split.sequences[m] = array
                if f"lengths.{m}" not in arrays:
                    raise DataError(f"{root}: split {name!r} has sequences.{m} but no lengths.{m}")
                split.lengths[m] = np.asarray(arrays[f"lengths.{m}"])
            elif group == "unimodal_labels":
                split.unimodal_labels[m] = np.asarray(array)
        splits[name] = split
    if not splits:
        raise DataError(f"{root / MANIFEST}: lists no splits; re-export the dataset")
    meta = check_meta(manifest.get("meta", {}), f"{where}: meta")
    meta.update({"source": str(root), "format": "safe", "finite": manifest.get("finite", False)})
    return MultimodalDataset(splits=splits, meta=meta)
