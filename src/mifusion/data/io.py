"""One entry point for every readable format: :func:`load_dataset`, plus the two writers.

Formats: ``mmsa`` (MMSA pickle, ``.pkl``), ``label_csv`` (MMSA label.csv), ``safe`` (mifusion's
directory of .npy arrays + manifest.json) and ``csd`` (CMU-MultimodalSDK computational sequences).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from mifusion.data.checks import check_arrays, check_meta
from mifusion.data.dataset import MultimodalDataset
from mifusion.data.mmsa_pickle import read_mmsa_pickle, save_mmsa_pickle
from mifusion.data.safe_format import MANIFEST, read_safe, save_safe
from mifusion.errors import DataError
from mifusion.files import require_regular_file

FORMATS: tuple[str, ...] = ("auto", "mmsa", "label_csv", "safe", "csd")
LABEL_TOLERANCE = 1e-4
log = logging.getLogger(__name__)

__all__ = ["FORMATS", "detect_format", "load_dataset", "save_mmsa_pickle", "save_safe"]


def detect_format(path: str | Path) -> str:
    """The format of ``path`` from its suffix or contents (raises DataError when unknown)."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file or directory; check the path")
    if path.is_dir():
        if (path / MANIFEST).is_file():
            return "safe"
        if any(path.glob("*.csd")):
            return "csd"
        raise DataError(f"{path}: a directory with neither {MANIFEST} nor .csd files; not a dataset")
    suffix = path.suffix.lower()
    formats = {".pkl": "mmsa", ".pickle": "mmsa", ".csv": "label_csv", ".csd": "csd", ".json": "safe"}
    if suffix in formats:
        return formats[suffix]
    raise DataError(f"{path}: unknown format; pass --format (one of {', '.join(FORMATS[1:])})")


def _check_labels(dataset: MultimodalDataset) -> None:
    low, high = dataset.meta.get("label_range", (-3.0, 3.0))
    source = dataset.meta["source"]
    for split in dataset:
        labels = np.asarray(split.labels)
        columns = {"labels": labels, **{f"labels_{m}": v for m, v in split.unimodal_labels.items()}}
        for field, values in columns.items():
            values = np.asarray(values)
            if not np.isfinite(values).all():
                raise DataError(
                    f"{source}: split {split.name!r}: field {field!r} holds NaN or inf; fix those rows"
                )
            outside = (values < low - LABEL_TOLERANCE) | (values > high + LABEL_TOLERANCE)
            if outside.any():
                raise DataError(
                    f"{source}: split {split.name!r}: field {field!r} has {int(outside.sum())} values "
                    f"outside the label range [{low:g}, {high:g}] (first: {values[outside][0]:g}); "
                    "fix the labels or the file's label_range"
                )


def _count_nonfinite(seq: np.ndarray, rows: int = 256) -> int:
    """Non-finite values of ``seq``, counted ``rows`` samples at a time (memory-mapped arrays stay mapped)."""
    return sum(int((~np.isfinite(seq[i : i + rows])).sum()) for i in range(0, len(seq), rows))


def _replace_nonfinite(dataset: MultimodalDataset, strict: bool, claimed_finite: bool) -> dict[str, int]:
    counts: dict[str, int] = {}
    for split in dataset:
        for m, seq in split.sequences.items():
            count = _count_nonfinite(seq)
            if count:
                counts[f"{split.name}/{m}"] = count
                if not strict and not claimed_finite:
                    seq = np.array(seq, dtype=np.float32, copy=not seq.flags.writeable)
                    seq[~np.isfinite(seq)] = 0.0
                    split.sequences[m] = seq
    if counts:
        where = ", ".join(f"{k}: {v}" for k, v in counts.items())
        if claimed_finite:
            raise DataError(
                f"{dataset.meta['source']}: the manifest says finite: true but {sum(counts.values())} feature "
                f"values are NaN or inf ({where}); the arrays were changed after export: re-export the dataset"
            )
        if strict:
            raise DataError(
                f"{dataset.meta['source']}: {sum(counts.values())} non-finite feature values ({where}); "
                "drop --strict (train: data.strict) to replace them by 0"
            )
        log.warning(
            "%s: replaced %d non-finite feature values by 0 (%s)",
            dataset.meta["source"],
            sum(counts.values()),
            where,
        )
    return counts


def _read(path: str | Path, kind: str, folds: Any) -> MultimodalDataset:
    if kind == "mmsa":
        return read_mmsa_pickle(path)
    if kind == "label_csv":
        from mifusion.data.label_csv import read_label_csv

        return read_label_csv(path)
    if kind == "safe":
        return read_safe(path)
    from mifusion.data.csd import read_csd_dataset

    return read_csd_dataset(path, folds=folds)


def load_dataset(
    path: str | Path, format: str = "auto", *, strict: bool = False, folds: Any = None
) -> MultimodalDataset:
    """Reads any supported format into a validated :class:`MultimodalDataset` (right-padded sequences).

    Args:
        path: a .pkl (MMSA), a .csv (label.csv), a safe-format directory or a .csd directory/file.
        format: "auto" or one of mmsa, label_csv, safe, csd.
        strict: refuse non-finite features instead of replacing them by 0 (with a warning).
        folds: for .csd only: a dict or file mapping split names to video ids.

    Meta keys set: source, format, aligned, label_range, tokenizer, nonfinite (counts replaced), plus
    whatever the file stores (generator parameters).
    """
    if format not in FORMATS:
        raise DataError(f"unknown format {format!r}; use one of {', '.join(FORMATS)}")
    kind = detect_format(path) if format == "auto" else format
    if kind == "safe" and Path(path).is_file():
        path = Path(path).parent
    if kind in ("mmsa", "label_csv"):
        require_regular_file(path, "dataset file")
    try:
        dataset = _read(path, kind, folds)
    except (TypeError, ValueError, KeyError, AttributeError, IndexError) as err:
        detail = " ".join(str(err).split())[:160] or type(err).__name__
        raise DataError(
            f"{path}: malformed {kind} dataset ({type(err).__name__}: {detail}); check the file against "
            "docs/data.md or re-export it with mifusion data convert"
        ) from None
    dataset.meta.setdefault("aligned", False)
    dataset.meta.setdefault("label_range", (-3.0, 3.0))
    dataset.meta.setdefault("tokenizer", None)
    dataset.meta.update(check_meta(dataset.meta, str(dataset.meta.get("source", path))))
    check_arrays(dataset)
    dataset.validate()
    _check_labels(dataset)
    claimed = kind == "safe" and dataset.meta.get("finite", False)
    dataset.meta["nonfinite"] = _replace_nonfinite(dataset, strict, claimed)
    return dataset
