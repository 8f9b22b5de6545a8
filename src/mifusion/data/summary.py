"""What a dataset holds, as a JSON-able dict (for ``mifusion data inspect``) and as text."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from mifusion.data.dataset import MultimodalDataset, SplitData


def _lengths(lengths: np.ndarray, padded: int) -> dict[str, Any]:
    lengths = np.asarray(lengths)
    return {
        "padded": int(padded),
        "min": int(lengths.min()),
        "mean": round(float(lengths.mean()), 2),
        "max": int(lengths.max()),
        "zero_length": int((lengths == 0).sum()),
    }


def _split(split: SplitData, label_range: tuple[float, float]) -> dict[str, Any]:
    modalities: dict[str, Any] = {}
    if split.token_ids is not None and split.token_lengths is not None:
        modalities["text_tokens"] = _lengths(split.token_lengths, split.token_ids.shape[1])
    if split.raw_text is not None:
        modalities["raw_text"] = {"empty": sum(1 for t in split.raw_text if not t.strip())}
    for m, seq in split.sequences.items():
        modalities[m] = {"dim": int(seq.shape[-1]), **_lengths(split.lengths[m], seq.shape[1])}
    labels = np.asarray(split.labels, dtype=np.float64)
    low, high = label_range
    edges = np.linspace(low, high, round(high - low) * (1 if high - low > 2 else 5) + 1)
    counts, _ = np.histogram(np.clip(labels, low, high), bins=edges)
    return {
        "n": len(split),
        "modalities": modalities,
        "labels": {
            "min": float(labels.min()),
            "mean": round(float(labels.mean()), 4),
            "max": float(labels.max()),
            "histogram": {
                f"[{a:g},{b:g}{']' if i == len(counts) - 1 else ')'}": int(c)
                for i, (a, b, c) in enumerate(zip(edges[:-1], edges[1:], counts, strict=True))
            },
        },
        "unimodal_labels": sorted(split.unimodal_labels),
    }


def summarize(dataset: MultimodalDataset) -> dict[str, Any]:
    """Format, splits and sizes, modalities and dims, lengths, labels, non-finite counts, duplicate ids."""
    label_range = tuple(dataset.meta.get("label_range", (-3.0, 3.0)))
    seen: Counter[str] = Counter()
    for split in dataset:
        seen.update(set(str(i) for i in split.ids))
    generator = {k: v for k, v in dataset.meta.items() if k not in SHOWN}
    return {
        "source": dataset.meta.get("source"),
        "format": dataset.meta.get("format"),
        "aligned": dataset.meta.get("aligned"),
        "label_range": list(label_range),
        "tokenizer": dataset.meta.get("tokenizer"),
        "feature_dims": dataset.feature_dims(),
        "splits": {s.name: _split(s, (float(label_range[0]), float(label_range[1]))) for s in dataset},
        "nonfinite_replaced": dict(dataset.meta.get("nonfinite", {})),
        "ids_in_several_splits": sum(1 for c in seen.values() if c > 1),
        "features": dataset.meta.get("features"),
        "other_meta": generator,
    }


SHOWN = {"source", "format", "aligned", "label_range", "tokenizer", "nonfinite", "finite", "features"}


def format_summary(info: dict[str, Any]) -> str:
    """Human-readable rendering of :func:`summarize`'s output."""
    lines = [
        f"source:      {info['source']}",
        f"format:      {info['format']}   aligned: {info['aligned']}   tokenizer: {info['tokenizer']}",
        f"label range: {info['label_range']}   feature dims: {info['feature_dims']}",
    ]
    for name, split in info["splits"].items():
        lines.append(f"split {name}: {split['n']} samples")
        for m, stats in split["modalities"].items():
            lines.append(f"  {m:12s} " + "  ".join(f"{k}={v}" for k, v in stats.items()))
        lab = split["labels"]
        lines.append(f"  labels       min={lab['min']:g} mean={lab['mean']:g} max={lab['max']:g}")
        lines.append("  histogram    " + " ".join(f"{k}:{v}" for k, v in lab["histogram"].items()))
        if split["unimodal_labels"]:
            lines.append(f"  unimodal labels: {', '.join(split['unimodal_labels'])}")
    nonfinite = info["nonfinite_replaced"]
    lines.append(f"non-finite values replaced by 0: {sum(nonfinite.values())} {nonfinite or ''}".rstrip())
    lines.append(f"ids in several splits: {info['ids_in_several_splits']}")
    if info.get("features"):
        from mifusion.data.feature_manifest import describe

        lines.append("feature manifest (column: unit):")
        lines.extend(describe(info["features"]))
    if info["other_meta"]:
        lines.append(f"other meta: {info['other_meta']}")
    return "\n".join(lines)
