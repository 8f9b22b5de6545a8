"""Frozen text features: run a local transformers encoder once over the raw text and keep its states.

The result has the layout of MMSA's BERT feature pickles: ``sequences["text"]`` (N, L, D) float32 with
``lengths["text"]`` (the token count, [CLS] and [SEP] included), so every model reads the text through
its sequence encoder and no run ever needs the transformer again. This is what makes the semi-synthetic
real-text ground affordable on a CPU (one MiniLM forward pass per sample, once: about 20 s for MOSI),
at the price of a frozen encoder: a model trained on these features cannot fine-tune the text encoder.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, NamedTuple, get_args

import numpy as np

from mifusion.data.dataset import MultimodalDataset, SplitData
from mifusion.data.text_inputs import tokenize
from mifusion.errors import ConfigError, DataError

Pooling = Literal["tokens", "cls", "mean"]
POOLINGS: tuple[str, ...] = get_args(Pooling)


class TextFeatures(NamedTuple):
    """Right-padded text features (N, L, D) float32 and their lengths (N,) int64."""

    states: np.ndarray
    lengths: np.ndarray


def encode_texts(
    texts: list[str], tokenizer: object, model: object, max_tokens: int, batch_size: int = 64
) -> TextFeatures:
    """Last-layer token states of ``model`` for ``texts``: (N, L, D) float32 right-padded, (N,) lengths.

    Batches are formed in length order (the padding of each batch is its own longest sample), so the
    result does not depend on ``batch_size`` beyond floating-point noise.
    """
    import torch

    if not texts:
        raise DataError("no texts to encode; every split needs at least one sample")
    ids, lengths = tokenize(texts, tokenizer, max_tokens)  # (N, L), (N,)
    order = np.argsort(-lengths, kind="stable")
    states: np.ndarray | None = None
    with torch.inference_mode():
        for start in range(0, len(texts), batch_size):
            rows = order[start : start + batch_size]
            width = max(int(lengths[rows].max()), 1)
            x = torch.as_tensor(ids[rows, :width])
            mask = torch.as_tensor(np.arange(width)[None, :] < lengths[rows, None]).long()
            out = model(input_ids=x, attention_mask=mask).last_hidden_state  # type: ignore[operator]
            if states is None:
                states = np.zeros((len(texts), ids.shape[1], out.shape[-1]), dtype=np.float32)
            states[rows, :width] = (out * mask[..., None]).float().numpy()
    if states is None:  # unreachable: texts is non-empty
        raise DataError("no texts were encoded")
    return TextFeatures(states, lengths)


def pool_states(states: np.ndarray, lengths: np.ndarray, pooling: Pooling) -> TextFeatures:
    """``tokens``: unchanged; ``cls``: the first state; ``mean``: the mean of valid states -> (N, 1, D).

    Example:
        >>> states = np.arange(12, dtype=np.float32).reshape(2, 3, 2)  # (N=2, L=3, D=2)
        >>> pool_states(states, np.array([3, 1]), "mean").states[:, 0].tolist()
        [[2.0, 3.0], [6.0, 7.0]]
    """
    if pooling == "tokens":
        return TextFeatures(states, lengths)
    if pooling == "cls":
        pooled = states[:, :1]
    else:
        valid = np.arange(states.shape[1])[None, :] < lengths[:, None]  # (N, L)
        total = (states * valid[..., None]).sum(axis=1)
        pooled = (total / np.maximum(lengths, 1)[:, None])[:, None]
    return TextFeatures(pooled.astype(np.float32), np.minimum(lengths, 1).astype(np.int64))


def featurize_text(
    dataset: MultimodalDataset,
    pretrained: str,
    max_tokens: int = 50,
    pooling: Pooling = "tokens",
    batch_size: int = 64,
    progress: Callable[[str, int], None] | None = None,
) -> MultimodalDataset:
    """Replaces the dataset's text by a frozen encoder's features (raw text kept, token ids dropped).

    Args:
        dataset: any dataset whose splits all have ``raw_text``.
        pretrained: a local transformers model directory (never downloaded).
        max_tokens: tokens per sample, [CLS] and [SEP] included (longer texts are truncated).
        pooling: ``tokens`` keeps every token state (N, L, D); ``cls`` / ``mean`` keep one vector.
        batch_size: samples per forward pass.
        progress: called with (split name, samples) after each split.

    Returns:
        The dataset with ``sequences["text"]`` and ``lengths["text"]``; ``meta["text_features"]``
        records the encoder, pooling and token limit.

    Raises:
        DataError: a split has no raw text, or ``pooling`` is unknown.
        ConfigError: the encoder or its tokenizer cannot be loaded from a local directory.
    """
    from mifusion.encoders.text import load_tokenizer, load_transformer

    source = dataset.meta.get("source", "<memory>")
    if pooling not in POOLINGS:
        raise DataError(f"pooling {pooling!r} is unknown; use one of {', '.join(POOLINGS)}")
    if batch_size < 1:
        raise ConfigError(f"batch size {batch_size} must be at least 1 (--batch-size)")
    missing = [s.name for s in dataset if s.raw_text is None]
    if missing:
        raise DataError(
            f"{source}: split {missing[0]!r} has no raw_text; featurising needs the transcripts "
            "(an MMSA label.csv, or a pickle/safe directory with raw_text)"
        )
    tokenizer = load_tokenizer(pretrained, option="--encoder")
    model = load_transformer(pretrained, option="--encoder")
    limit = int(getattr(getattr(model, "config", None), "max_position_embeddings", 512))
    if not 2 <= max_tokens <= limit:
        raise ConfigError(
            f"max tokens {max_tokens} must lie in [2, {limit}] ([CLS] + [SEP] at least; at most the "
            f"encoder's {limit} positions); fix --max-tokens"
        )
    model.eval()
    splits: dict[str, SplitData] = {}
    for split in dataset:
        states, lengths = encode_texts(list(split.raw_text or []), tokenizer, model, max_tokens, batch_size)
        feats, lens = pool_states(states, lengths, pooling)
        splits[split.name] = SplitData(
            name=split.name,
            ids=split.ids,
            labels=split.labels,
            sequences={**split.sequences, "text": feats},
            lengths={**split.lengths, "text": lens},
            raw_text=split.raw_text,
            unimodal_labels=dict(split.unimodal_labels),
        )
        if progress is not None:
            progress(split.name, len(split))
    meta = {k: v for k, v in dataset.meta.items() if k != "tokenizer"}
    meta["aligned"] = False  # word-piece steps (or one pooled step) no longer line up with words
    meta["text_features"] = {"encoder": str(pretrained), "pooling": pooling, "max_tokens": max_tokens}
    return MultimodalDataset(splits, meta)


def _word_pieces(words: list[str], tokenizer: Any, max_tokens: int) -> tuple[list[int], list[int | None]]:
    """Token ids of a word list ([CLS]/[SEP] included, truncated to ``max_tokens``) and each token's word."""
    if getattr(tokenizer, "is_fast", False):
        encoded = tokenizer(words, is_split_into_words=True, truncation=True, max_length=max_tokens)
        return list(encoded["input_ids"]), list(encoded.word_ids())
    pieces: list[int] = []
    owner: list[int | None] = []
    for j, word in enumerate(words):  # slow tokenizers: each word on its own
        ids = tokenizer(word, add_special_tokens=False)["input_ids"]
        pieces += ids
        owner += [j] * len(ids)
    marked = list(tokenizer.build_inputs_with_special_tokens([-1]))  # where the pieces go
    lead, specials = marked.index(-1), len(marked) - 1
    budget = max(max_tokens - specials, 0)
    pieces, owner = pieces[:budget], owner[:budget]
    full = tokenizer.build_inputs_with_special_tokens(pieces)
    words_of: list[int | None] = [None] * len(full)
    words_of[lead : lead + len(owner)] = owner
    return list(full), words_of


def encode_words(
    word_lists: list[list[str]], tokenizer: Any, model: Any, max_tokens: int, width: int, batch_size: int = 64
) -> tuple[TextFeatures, int]:
    """One state per word: the mean of its word-piece states -> ((N, width, D), lengths = word counts),
    and the number of words that truncation at ``max_tokens`` left without a piece (their state is 0)."""
    import torch

    encoded = [_word_pieces(words, tokenizer, max_tokens) for words in word_lists]
    pad = tokenizer.pad_token_id if getattr(tokenizer, "pad_token_id", None) is not None else 0
    states: np.ndarray | None = None
    truncated = 0
    with torch.inference_mode():
        for start in range(0, len(encoded), batch_size):
            rows = encoded[start : start + batch_size]
            longest = max(len(ids) for ids, _ in rows)
            ids = torch.full((len(rows), longest), pad, dtype=torch.long)
            mask = torch.zeros((len(rows), longest), dtype=torch.long)
            for r, (row, _) in enumerate(rows):
                ids[r, : len(row)] = torch.as_tensor(row)
                mask[r, : len(row)] = 1
            out = model(input_ids=ids, attention_mask=mask).last_hidden_state.float().numpy()
            if states is None:
                states = np.zeros((len(encoded), width, out.shape[-1]), dtype=np.float32)
            for r, (_, owner) in enumerate(rows):
                n = len(word_lists[start + r])
                owners = np.asarray([-1 if o is None else o for o in owner])
                for j in range(n):
                    hit = owners == j
                    if hit.any():
                        states[start + r, j] = out[r, : len(owners)][hit].mean(axis=0)
                    else:
                        truncated += 1
    if states is None:
        raise DataError("no texts to encode; every split needs at least one sample")
    lengths = np.asarray([len(w) for w in word_lists], dtype=np.int64)
    return TextFeatures(states, lengths), truncated


def featurize_words(
    dataset: MultimodalDataset, pretrained: str, max_tokens: int = 50, batch_size: int = 64
) -> MultimodalDataset:
    """Word-aligned text features: each split's ``raw_text`` is a space-separated word sequence (what
    ``data extract --align words`` writes) and each word gets the mean of its word-piece states, so the
    text has one step per word like the aligned audio and vision (padded to the longest clip overall).

    ``meta["text_features"]`` records the encoder, ``pooling: "words"``, the token limit and
    ``truncated_words`` (words beyond ``max_tokens`` tokens: state 0).
    """
    from mifusion.encoders.text import load_tokenizer, load_transformer

    missing = [s.name for s in dataset if s.raw_text is None]
    if missing:
        raise DataError(f"split {missing[0]!r} has no raw_text; word features need the word sequences")
    tokenizer = load_tokenizer(pretrained, option="--encoder")
    model = load_transformer(pretrained, option="--encoder")
    model.eval()
    word_lists = {s.name: [t.split() for t in s.raw_text or []] for s in dataset}
    width = max(max((len(w) for w in lists), default=1) for lists in word_lists.values())
    splits: dict[str, SplitData] = {}
    truncated = 0
    for split in dataset:
        feats, count = encode_words(word_lists[split.name], tokenizer, model, max_tokens, width, batch_size)
        truncated += count
        splits[split.name] = SplitData(
            name=split.name,
            ids=split.ids,
            labels=split.labels,
            sequences={**split.sequences, "text": feats.states},
            lengths={**split.lengths, "text": feats.lengths},
            raw_text=split.raw_text,
            unimodal_labels=dict(split.unimodal_labels),
        )
    meta = {k: v for k, v in dataset.meta.items() if k != "tokenizer"}
    meta["text_features"] = {
        "encoder": str(pretrained),
        "pooling": "words",
        "max_tokens": max_tokens,
        "truncated_words": truncated,
    }
    return MultimodalDataset(splits, meta)
