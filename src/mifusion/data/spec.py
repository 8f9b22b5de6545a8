"""DataSpec: what a dataset provides to a model, derived from the data itself."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from mifusion.config import MODALITIES
from mifusion.data.dataset import MultimodalDataset
from mifusion.errors import DataError


@dataclass(frozen=True)
class DataSpec:
    """What the data provides, read from the dataset (never from dataset names).

    Attributes:
        modalities: the modalities the model should use, in the fixed order.
        feature_dims: per sequence modality, features per frame (``text`` here means precomputed features).
        text_kind: "tokens" (token ids for a transformer), "features" (precomputed vectors) or None.
        vocab_size: size of the token vocabulary when text_kind is "tokens".
        aligned: True when all modalities share one length per sample (word-aligned data).
        label_range: (low, high) of the labels, e.g. (-3, 3) or (-1, 1).
    """

    modalities: tuple[str, ...]
    feature_dims: dict[str, int] = field(default_factory=dict)
    text_kind: str | None = None
    vocab_size: int | None = None
    aligned: bool = False
    label_range: tuple[float, float] = (-3.0, 3.0)


def data_spec(dataset: MultimodalDataset, modalities: Sequence[str] | None = None) -> DataSpec:
    """Derives the DataSpec of ``dataset`` restricted to ``modalities`` (default: all it has)."""
    have = dataset.modalities
    wanted = tuple(m for m in MODALITIES if m in (modalities or have))
    unknown = sorted(set(modalities or ()) - set(MODALITIES))
    if unknown:
        raise DataError(f"unknown modality {unknown[0]!r}; modalities are text, audio, vision")
    missing = [m for m in wanted if m not in have]
    if missing or not wanted:
        raise DataError(
            f"{dataset.meta.get('source', '<memory>')}: modality {(missing or ['?'])[0]!r} requested but "
            f"the data has only {', '.join(have) or 'none'}; change data.modalities / --modalities"
        )
    train = next(iter(dataset.splits.values()))
    dims = {m: d for m, d in dataset.feature_dims().items() if m in wanted}
    text_kind = None
    if "text" in wanted:
        text_kind = (
            "tokens" if train.token_ids is not None else "features" if "text" in train.sequences else None
        )
        if text_kind is None:
            raise DataError(
                f"{dataset.meta.get('source', '<memory>')}: text is raw only; configure a text encoder "
                "(model.text.pretrained) so it can be tokenised"
            )
    aligned = bool(dataset.meta.get("aligned", False))
    default_range = (-1.0, 1.0) if dataset.meta.get("like") == "sims" else (-3.0, 3.0)
    low, high = dataset.meta.get("label_range", default_range)
    vocab = dataset.meta.get("vocab_size")
    return DataSpec(
        wanted, dims, text_kind, int(vocab) if vocab else None, aligned, (float(low), float(high))
    )
