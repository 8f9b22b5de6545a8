"""Text inputs that match the text encoder: never feed token ids from the wrong vocabulary.

MMSA's ``text_bert`` holds bert-base-uncased ids. When the configured encoder's tokenizer differs,
:func:`prepare_text` re-tokenises ``raw_text`` (one logged notice) or refuses with a DataError.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from mifusion.data.dataset import MultimodalDataset, SplitData
from mifusion.errors import DataError

log = logging.getLogger(__name__)


def tokenize(texts: list[str], tokenizer: Any, max_tokens: int) -> tuple[np.ndarray, np.ndarray]:
    """Right-padded (N, L) int64 token ids and (N,) lengths, L = longest sample (at most max_tokens)."""
    encoded = tokenizer(list(texts), truncation=True, max_length=max_tokens, padding=False)["input_ids"]
    lengths = np.asarray([len(ids) for ids in encoded], dtype=np.int64)
    pad = tokenizer.pad_token_id if getattr(tokenizer, "pad_token_id", None) is not None else 0
    ids = np.full((len(encoded), max(int(lengths.max(initial=0)), 1)), pad, dtype=np.int64)
    for i, row in enumerate(encoded):
        ids[i, : len(row)] = row
    return ids, lengths


def prepare_text(
    dataset: MultimodalDataset, tokenizer: Any, tokenizer_name: str, max_tokens: int = 50
) -> MultimodalDataset:
    """Returns a dataset whose token ids come from ``tokenizer_name``'s vocabulary.

    Keeps existing token ids when the dataset's meta "tokenizer" equals ``tokenizer_name``; otherwise
    re-tokenises ``raw_text`` with ``tokenizer`` (a HF tokenizer) and says so once.

    Raises:
        DataError: token ids come from another vocabulary and there is no raw text to re-tokenise.
    """
    have = dataset.meta.get("tokenizer")
    splits = list(dataset)
    if have == tokenizer_name and all(s.token_ids is not None for s in splits):
        return dataset
    missing = [s.name for s in splits if s.raw_text is None]
    if missing:
        raise DataError(
            f"{dataset.meta.get('source', '<memory>')}: token ids are from {have!r} but the text encoder "
            f"uses {tokenizer_name!r}, and split {missing[0]!r} has no raw_text to re-tokenise; use a file "
            "with raw text (e.g. MMSA label.csv or a pickle with raw_text) or an encoder with that vocabulary"
        )
    log.info(
        "re-tokenising raw text with %s (token ids in the data are from %s)", tokenizer_name, have or "none"
    )
    new: dict[str, SplitData] = {}
    for split in splits:
        ids, lengths = tokenize(split.raw_text or [], tokenizer, max_tokens)
        new[split.name] = SplitData(
            name=split.name,
            ids=split.ids,
            labels=split.labels,
            sequences=split.sequences,
            lengths=split.lengths,
            token_ids=ids,
            token_lengths=lengths,
            raw_text=split.raw_text,
            unimodal_labels=split.unimodal_labels,
        )
    return MultimodalDataset(splits=new, meta={**dataset.meta, "tokenizer": tokenizer_name})
