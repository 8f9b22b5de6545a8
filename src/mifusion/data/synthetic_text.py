"""Text parts of the synthetic generator: a pseudo-word vocabulary, token sampling, and the
deterministic transcript features and label.csv parsing of the semi-synthetic (real-text) mode."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import numpy as np

from mifusion.errors import DataError

PAD_ID, CLS_ID, SEP_ID = 0, 1, 2
NUM_SPECIAL = 3
_CONSONANTS = "bdfgklmnprstvz"
_VOWELS = "aeiou"
SPLIT_NAMES = ("train", "valid", "test")


def pseudo_words(vocab_size: int) -> list[str]:
    """The word of every token id: "[PAD]", "[CLS]", "[SEP]", then fixed pseudo-words ("ba", "bada", ...).

    The list depends only on ``vocab_size`` (not on the seed), so ids and words match across datasets.

    Example:
        >>> pseudo_words(6)
        ['[PAD]', '[CLS]', '[SEP]', 'ba', 'be', 'bi']
    """
    syllables = [c + v for c in _CONSONANTS for v in _VOWELS]  # 70 syllables
    words = ["[PAD]", "[CLS]", "[SEP]"]
    k = 0
    while len(words) < vocab_size:
        word = syllables[k % len(syllables)]
        if k >= len(syllables):  # two syllables, then a numeric suffix beyond 70 * 71 words
            word += syllables[(k // len(syllables) - 1) % len(syllables)]
        if k >= len(syllables) * (len(syllables) + 1):
            word += str(k)
        words.append(word)
        k += 1
    return words


def sample_tokens(
    rng: np.random.Generator, logits: np.ndarray, content_lengths: np.ndarray, max_len: int
) -> tuple[np.ndarray, np.ndarray]:
    """Samples "[CLS] w_1 .. w_L [SEP]" per sample from per-sample word logits.

    Args:
        rng: the generator's random state.
        logits: (N, V - 3) unnormalised log-probabilities of the words (ids 3..V-1).
        content_lengths: (N,) number of words per sample, each in [1, max_len - 2].
        max_len: padded length including [CLS] and [SEP].

    Returns:
        token_ids (N, max_len) int64 right-padded with [PAD]=0, and token_lengths (N,) = words + 2.
    """
    n, num_words = logits.shape
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))  # (N, W)
    cdf = np.cumsum(probs / probs.sum(axis=1, keepdims=True), axis=1)  # (N, W)
    draws = rng.random((n, max_len - 2))  # (N, L - 2)
    words = np.stack([np.searchsorted(cdf[i], draws[i], side="right") for i in range(n)])
    words = np.minimum(words, num_words - 1) + NUM_SPECIAL
    ids = np.zeros((n, max_len), dtype=np.int64)
    ids[:, 0] = CLS_ID
    positions = np.arange(max_len - 2)[None, :]
    ids[:, 1:-1] = np.where(positions < content_lengths[:, None], words, PAD_ID)
    ids[np.arange(n), content_lengths + 1] = SEP_ID
    return ids, content_lengths.astype(np.int64) + 2


def tokens_to_text(token_ids: np.ndarray, token_lengths: np.ndarray, vocab: list[str]) -> list[str]:
    """Space-joined pseudo-words of every sample, without [CLS]/[SEP]/[PAD]."""
    return [
        " ".join(vocab[t] for t in row[1 : int(length) - 1]) for row, length in zip(token_ids, token_lengths)
    ]


def _word_vector(word: str, dim: int) -> np.ndarray:
    digest = hashlib.blake2b(word.encode("utf-8"), digest_size=8).digest()
    return np.random.default_rng(int.from_bytes(digest, "little")).standard_normal(dim)


def transcript_factors(texts: list[str], dim: int) -> np.ndarray:
    """Hashed bag-of-words projection: a deterministic (N, dim) function of the transcripts alone.

    Each lower-cased word w gets a fixed N(0, I) vector v(w) seeded by its BLAKE2b hash; a transcript's
    factor is sum_w v(w) / sqrt(#words) (unit variance per component; zeros for an empty transcript).
    It does not depend on the generator seed.

    Example:
        >>> f = transcript_factors(["GOOD MOVIE", "good movie", ""], 3)
        >>> bool(np.allclose(f[0], f[1])), f[2].tolist()
        (True, [0.0, 0.0, 0.0])
    """
    out = np.zeros((len(texts), dim), dtype=np.float64)
    cache: dict[str, np.ndarray] = {}
    for i, text in enumerate(texts):
        words = text.lower().split()
        for w in words:
            if w not in cache:
                cache[w] = _word_vector(w, dim)
            out[i] += cache[w]
        if words:
            out[i] /= np.sqrt(len(words))
    return out


def read_label_csv(path: str | Path) -> dict[str, tuple[list[str], list[str], np.ndarray]]:
    """Reads an MMSA label.csv into split -> (ids, transcripts, labels), ids "video_id$_$clip_id".

    Raises:
        DataError: missing file or column, a bad label, or an unknown mode, naming file, row and fix.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such label.csv; pass the path of an MMSA label.csv (--text-from)")
    out: dict[str, tuple[list[str], list[str], list[float]]] = {s: ([], [], []) for s in SPLIT_NAMES}
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        needed = {"video_id", "clip_id", "text", "label", "mode"}
        missing = needed - set(reader.fieldnames or [])
        if missing:
            raise DataError(
                f"{path}: missing column(s) {', '.join(sorted(missing))}; an MMSA label.csv has "
                "video_id, clip_id, text, label, annotation, mode"
            )
        for row_number, row in enumerate(reader, start=2):
            mode = (row["mode"] or "").strip()
            if mode not in out:
                raise DataError(
                    f"{path}: row {row_number}, column 'mode' is {mode!r}; use train, valid or test"
                )
            try:
                label = float(row["label"])
            except (TypeError, ValueError):
                raise DataError(
                    f"{path}: row {row_number}, column 'label' is {row['label']!r}; it must be a number"
                ) from None
            ids, texts, labels = out[mode]
            ids.append(f"{row['video_id']}$_${row['clip_id']}")
            texts.append(row["text"] or "")
            labels.append(label)
    return {s: (i, t, np.asarray(lab, dtype=np.float32)) for s, (i, t, lab) in out.items() if i}
