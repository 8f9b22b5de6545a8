"""MMSA ``label.csv`` (raw-data index): a text-only dataset with raw transcripts and labels.

Columns (REFERENCE 4.3): video_id, clip_id, text, label, annotation, mode (train/valid/test); CH-SIMS adds
label_T, label_A, label_V (unimodal labels, range [-1, 1]). Ids are ``video_id$_$clip_id`` as in MMSA.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

from mifusion.data.dataset import SPLITS, MultimodalDataset, SplitData
from mifusion.errors import DataError

REQUIRED = ("video_id", "clip_id", "text", "label", "mode")
UNIMODAL = {"text": "label_T", "audio": "label_A", "vision": "label_V"}
MODE_ALIASES = {"train": "train", "valid": "valid", "val": "valid", "dev": "valid", "test": "test"}


def _float(value: str | None, path: Path, line: int, column: str) -> float:
    try:
        return float(value) if value is not None else math.nan
    except ValueError:
        raise DataError(
            f"{path}: line {line}, column {column!r}: {value!r} is not a number; fix the row"
        ) from None


def read_label_csv(path: str | Path) -> MultimodalDataset:
    """Reads an MMSA label.csv into train/valid/test splits of raw text and labels.

    Example:
        >>> import tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "label.csv")
        >>> rows = ["video_id,clip_id,text,label,annotation,mode"] + [
        ...     f"v,{i},HELLO,{i - 1}.0,Neutral,{m}" for i, m in enumerate(["train", "valid", "test"])]
        >>> _ = open(p, "w").write("\\n".join(rows) + "\\n")
        >>> ds = read_label_csv(p)
        >>> [len(s) for s in ds], str(ds["test"].ids[0])
        ([1, 1, 1], 'v$_$2')
    """
    path = Path(path)
    if path.exists() and not path.is_file():  # stat only: opening a FIFO would block
        raise DataError(f"{path}: not a regular file (a folder, FIFO or device); give the path of a file")
    try:
        handle = open(path, newline="", encoding="utf-8")  # noqa: SIM115 (closed below)
    except OSError as err:
        raise DataError(f"{path}: cannot read file ({err.strerror}); check the path") from None
    rows: dict[str, list[dict[str, str]]] = {s: [] for s in SPLITS}
    with handle:
        try:
            reader = csv.DictReader(handle, strict=True)
            header = reader.fieldnames or []
            missing = [c for c in REQUIRED if c not in header]
            if missing:
                raise DataError(
                    f"{path}: missing column {missing[0]!r}; label.csv needs {', '.join(REQUIRED)}"
                )
            for row in reader:
                line = reader.line_num
                if None in row or any(row.get(c) is None for c in header):
                    raise DataError(
                        f"{path}: line {line} does not have the header's {len(header)} fields; "
                        "the file is malformed or truncated"
                    )
                mode = MODE_ALIASES.get(row["mode"].strip().lower())
                if mode is None:
                    raise DataError(
                        f"{path}: line {line}, column 'mode': {row['mode']!r}; use train, valid or test"
                    )
                row["_line"] = str(line)
                rows[mode].append(row)
        except (csv.Error, UnicodeDecodeError) as err:
            raise DataError(f"{path}: malformed CSV ({err}); fix or re-export the file") from None
    unimodal = [m for m, c in UNIMODAL.items() if c in header]
    splits = {}
    for name in SPLITS:
        if not rows[name]:
            raise DataError(f"{path}: split {name!r} is empty (no row has mode={name}); add its rows")
        split = SplitData(
            name=name,
            ids=np.asarray([f"{r['video_id']}$_${r['clip_id']}" for r in rows[name]]),
            labels=np.asarray(
                [_float(r["label"], path, int(r["_line"]), "label") for r in rows[name]], dtype=np.float32
            ),
            raw_text=[r["text"] for r in rows[name]],
        )
        for m in unimodal:
            col = UNIMODAL[m]
            split.unimodal_labels[m] = np.asarray(
                [_float(r[col], path, int(r["_line"]), col) for r in rows[name]], dtype=np.float32
            )
        splits[name] = split
    meta = {
        "source": str(path),
        "format": "label_csv",
        "aligned": False,
        "label_range": (-1.0, 1.0) if unimodal else (-3.0, 3.0),
        "tokenizer": None,
    }
    return MultimodalDataset(splits=splits, meta=meta)
