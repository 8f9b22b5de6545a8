"""MMSA-layout variants of a (synthetic) dataset's pickle: left padding, no length arrays.

Real MMSA files differ in layout: MulT-era aligned files keep the valid frames at the END of each
padded sequence and carry no ``*_lengths`` arrays; unaligned files are right-padded with lengths.
:func:`save_mmsa_layout` writes either, so the reader's detection (left padding, lengths inferred from
all-zero frames) is exercised on data whose truth is known.

Example:
    >>> import tempfile
    >>> from mifusion.data.synthetic import SynthParams, generate
    >>> ds = generate("mosi", n=30, aligned=True, params=SynthParams(max_lengths={"text": 8}))
    >>> path = Path(tempfile.mkdtemp()) / "left.pkl"
    >>> save_mmsa_layout(ds, path, padding="left", lengths=False)
    >>> from mifusion.data.mmsa_pickle import read_mmsa_pickle
    >>> back = read_mmsa_pickle(path)
    >>> bool((back["train"].lengths["audio"] == ds["train"].lengths["audio"]).all())
    True
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any, Literal

import numpy as np

from mifusion.data.dataset import MultimodalDataset
from mifusion.data.mmsa_pickle import META_KEY, _json_default, _raw_split, atomic_write

__all__ = ["left_pad", "save_mmsa_layout"]


def left_pad(seq: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """(N, T, D) right-padded -> the same frames moved to the end of each row (zeros before them).

    Example:
        >>> left_pad(np.array([[[1.0], [2.0], [0.0]]]), np.array([2]))[0, :, 0].tolist()
        [0.0, 1.0, 2.0]
    """
    steps = seq.shape[1]
    out = np.zeros_like(seq)
    for i, n in enumerate(np.asarray(lengths, dtype=np.int64)):
        if n > 0:
            out[i, steps - n :] = seq[i, :n]
    return out


def save_mmsa_layout(
    dataset: MultimodalDataset,
    path: str | Path,
    padding: Literal["right", "left"] = "right",
    lengths: bool = True,
) -> None:
    """Writes ``dataset`` as an MMSA pickle with audio/vision ``padding`` and optional length arrays.

    Token ids (``text_bert``) stay right-padded with their attention mask, as in MMSA's files.
    """
    if padding not in ("right", "left"):
        raise ValueError(f"padding={padding!r}; use right or left")
    top: dict[str, Any] = {}
    for name, split in dataset.splits.items():
        raw = _raw_split(split)
        for m in split.sequences:
            if padding == "left":
                raw[m] = left_pad(raw[m], split.lengths[m])
            if not lengths:
                raw.pop(f"{m}_lengths", None)
        top[name] = raw
    meta = {k: v for k, v in dataset.meta.items() if k not in ("source", "format", "finite", "nonfinite")}
    meta["layout"] = {"padding": padding, "lengths": lengths}
    top[META_KEY] = json.dumps(meta, default=_json_default)
    atomic_write(Path(path), lambda handle: pickle.dump(top, handle, protocol=4))
