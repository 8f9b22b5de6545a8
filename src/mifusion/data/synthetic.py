"""Deterministic synthetic MSA data with known structure, and a semi-synthetic real-text mode.

Generative model (per sample i; ``r`` = label bound, 3 or 1 for ``like="sims"``):

1. a latent sentiment score ``s_i`` (the label), drawn from a three-component mixture shaped like the
   real labels (negative / neutral / positive), clipped to [-r, r] and rounded to the annotation grid
   (1/6 for MOSI/MOSEI, so exact .5 labels and zeros occur; 0.2 for SIMS);
2. shared factors ``z_i ~ N(0, I_k)`` common to all modalities and private factors ``u_im ~ N(0, I_p)``;
3. modality m sees ``x_im = [signal_m * 2 s_i / r, shared * z_i, private * u_im]`` and each frame is
   ``tanh((x_im + jitter * e_t) W1_m + b1_m) W2_m + noise * eps_t`` (a random one-hidden-layer map);
4. text: words are drawn from ``softmax(base + 2 signal_text s_i / r * polarity + shared * z_i A +
   private * u_i B)`` over a small pseudo-word vocabulary, wrapped in [CLS] ... [SEP].

Semi-synthetic mode (``text_from=label.csv``): real transcripts, labels and folds; audio and vision are
generated as in 3 with ``s_i`` the real label, the WEAK signals ``real_audio_signal`` /
``real_vision_signal`` and, as shared factor, a hashed bag-of-words projection of the transcript
(:func:`mifusion.data.synthetic_text.transcript_factors`) weighted by ``real_text_dependence``.

Example:
    >>> ds = generate("mosi", n=30, seed=0, params=SynthParams(max_lengths={"text": 8, "audio": 10, "vision": 12}))
    >>> [len(s) for s in ds], ds.feature_dims(), ds["train"].token_ids.shape
    ([18, 3, 9], {'audio': 5, 'vision': 20}, (18, 8))
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mifusion.data import synthetic_text as text_mod
from mifusion.data.dataset import SPLITS, MultimodalDataset, SplitData
from mifusion.data.synthetic_layout import LIKES, LikeSpec, generator_meta, sample_labels, split_sizes
from mifusion.errors import ConfigError


@dataclass(frozen=True)
class SynthParams:
    """Generating parameters; the defaults are fixed (documented in docs/synthetic.md), never tuned.

    Attributes:
        text_signal: weight of the label in the text's word distribution (synthetic mode).
        audio_signal: weight of the label in the audio map input (synthetic mode).
        vision_signal: weight of the label in the vision map input (synthetic mode).
        shared_strength: weight of the shared factors in every modality (synthetic mode).
        private_strength: weight of each modality's private factors.
        noise: standard deviation of the per-frame Gaussian noise added to audio and vision.
        jitter: standard deviation of the per-frame perturbation of the map input.
        num_shared: number of shared factors k.
        num_private: number of private factors p per modality.
        hidden_dim: width of each modality's random map.
        vocab_size: text vocabulary size including [PAD]=0, [CLS]=1, [SEP]=2.
        zero_length_rate: probability that an unaligned audio or vision sequence has no frames.
        min_length_fraction: lengths are uniform in [fraction * max, max].
        max_lengths: padded lengths per modality ("text" includes [CLS] and [SEP]); missing keys or None
            take the ``like`` dataset's real unaligned lengths. Aligned data uses the text length for all.
        audio_dim: audio features per frame; None = the ``like`` dataset's.
        vision_dim: vision features per frame; None = the ``like`` dataset's (SIMS: 709, reduce for speed).
        real_audio_signal: semi-synthetic mode: weight of the real label in audio (weak).
        real_vision_signal: semi-synthetic mode: weight of the real label in vision (weak).
        real_text_dependence: semi-synthetic mode: weight of the transcript's hashed bag-of-words factor.
        nonfinite_audio_rate: fraction of valid audio frames whose first feature is -inf (as in MOSEI's
            audio; readers replace it by 0 with a warning). 0 leaves every other array unchanged.
    """

    text_signal: float = 0.6
    audio_signal: float = 0.3
    vision_signal: float = 0.15
    shared_strength: float = 0.5
    private_strength: float = 1.0
    noise: float = 0.5
    jitter: float = 0.3
    num_shared: int = 4
    num_private: int = 4
    hidden_dim: int = 32
    vocab_size: int = 200
    zero_length_rate: float = 0.01
    min_length_fraction: float = 0.2
    max_lengths: Mapping[str, int] | None = None
    audio_dim: int | None = None
    vision_dim: int | None = None
    real_audio_signal: float = 0.1
    real_vision_signal: float = 0.05
    real_text_dependence: float = 0.5
    nonfinite_audio_rate: float = 0.0


_CHUNK = 256  # samples per block when generating frames (bounds the hidden activations' memory)
_SIGNAL_SCALE = 2.0  # the label enters the maps as 2 * s / r, i.e. with a range of [-2, 2]


def _lengths(rng: np.random.Generator, n: int, max_len: int, low: int, fraction: float) -> np.ndarray:
    lo = min(max_len, max(low, int(np.ceil(fraction * max_len))))
    return rng.integers(lo, max_len + 1, size=n).astype(np.int64)


def _frames(
    rng: np.random.Generator,
    inputs: np.ndarray,
    lengths: np.ndarray,
    max_len: int,
    dim: int,
    params: SynthParams,
) -> np.ndarray:
    """(N, d_in) map inputs -> (N, max_len, dim) float32 frames, zero beyond each length."""
    n, d_in = inputs.shape
    w1 = rng.standard_normal((d_in, params.hidden_dim))
    b1 = rng.normal(0.0, 0.5, params.hidden_dim)
    w2 = rng.standard_normal((params.hidden_dim, dim)) / np.sqrt(params.hidden_dim)
    out = np.zeros((n, max_len, dim), dtype=np.float32)
    for start in range(0, n, _CHUNK):
        x = inputs[start : start + _CHUNK, None, :]  # (b, 1, d_in)
        b = x.shape[0]
        x_t = x + params.jitter * rng.standard_normal((b, max_len, d_in))  # (b, T, d_in)
        frames = np.tanh(x_t @ w1 + b1) @ w2  # (b, T, D)
        frames += params.noise * rng.standard_normal(frames.shape)
        valid = np.arange(max_len)[None, :, None] < lengths[start : start + b, None, None]
        out[start : start + b] = np.where(valid, frames, 0.0)
    return out


def _resolve(
    like: str, params: SynthParams, aligned: bool
) -> tuple[LikeSpec, dict[str, int], dict[str, int]]:
    if like not in LIKES:
        raise ConfigError(f"unknown synthetic layout like={like!r}; use one of {', '.join(LIKES)}")
    spec = LIKES[like]
    max_lengths = {**spec.max_lengths, **dict(params.max_lengths or {})}
    if aligned:
        max_lengths = dict.fromkeys(max_lengths, max_lengths["text"])
    if max_lengths["text"] < 3 or min(max_lengths.values()) < 1:
        raise ConfigError(
            f"synthetic max_lengths {max_lengths} too short; text needs >= 3 ([CLS] word [SEP]), others >= 1"
        )
    dims = {"audio": params.audio_dim or spec.audio_dim, "vision": params.vision_dim or spec.vision_dim}
    return spec, max_lengths, dims


def generate(
    like: str = "mosi",
    n: int | None = None,
    seed: int = 0,
    aligned: bool = False,
    text_from: str | Path | None = None,
    params: SynthParams | None = None,
) -> MultimodalDataset:
    """Generates a synthetic (or, with ``text_from``, semi-synthetic) dataset; deterministic per seed.

    Args:
        like: "mosi", "mosei" or "sims": feature dims, padded lengths, split proportions, label range.
        n: number of samples (default: 2199 mosi, 3000 mosei, 2281 sims); split like the real folds.
            Not allowed with ``text_from`` (the label.csv fixes the samples).
        seed: random seed; the same arguments give identical arrays.
        aligned: one length per sample shared by all modalities, all padded to the text length.
        text_from: path of an MMSA label.csv: real transcripts, labels and folds (raw_text only).
        params: generating parameters (default :class:`SynthParams`).

    Returns:
        A :class:`MultimodalDataset` whose ``meta["generator"]`` records every parameter and the seed.
    """
    params = params or SynthParams()
    spec, max_lengths, dims = _resolve(like, params, aligned)
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(6)]
    labels_rng, text_rng, audio_rng, vision_rng, length_rng, factor_rng = streams
    if text_from is not None:
        if n is not None:
            raise ConfigError(
                "n cannot be combined with text_from: the label.csv fixes the samples; drop --n (data.synth.n)"
            )
        rows = text_mod.read_label_csv(text_from)
        names = list(rows)
        sizes = [len(rows[s][0]) for s in names]
        ids = np.array([i for s in names for i in rows[s][0]])
        texts: list[str] | None = [t for s in names for t in rows[s][1]]
        labels = np.concatenate([rows[s][2] for s in names])
        shared = text_mod.transcript_factors(texts or [], params.num_shared)
        weights = {"audio": params.real_audio_signal, "vision": params.real_vision_signal}
        shared_weight = params.real_text_dependence
        token_ids = token_lengths = None
    else:
        n = spec.default_n if n is None else n
        names, sizes = list(SPLITS), split_sizes(n, spec.split_sizes)
        ids = np.array([f"synthetic_{i:05d}" for i in range(n)])
        labels = sample_labels(labels_rng, n, spec.label_range)
        shared = factor_rng.standard_normal((n, params.num_shared))
        weights = {"audio": params.audio_signal, "vision": params.vision_signal}
        shared_weight = params.shared_strength
        texts = None
    total = len(labels)
    s_unit = _SIGNAL_SCALE * labels.astype(np.float64) / spec.label_range  # (N,)
    lengths: dict[str, np.ndarray] = {}
    if aligned:
        if texts is not None:
            words = np.array([len(t.split()) for t in texts])
            common = np.clip(words, 1, max_lengths["text"]).astype(np.int64)
        else:
            common = _lengths(length_rng, total, max_lengths["text"], 3, params.min_length_fraction)
        lengths = {m: common for m in ("text", "audio", "vision")}
    else:
        for m in ("text", "audio", "vision"):
            low = 3 if m == "text" else 1
            lengths[m] = _lengths(length_rng, total, max_lengths[m], low, params.min_length_fraction)
            if m != "text":
                lengths[m][length_rng.random(total) < params.zero_length_rate] = 0
    if texts is None:
        token_ids, token_lengths = _synthetic_text(
            text_rng, s_unit, shared, lengths["text"], max_lengths, params
        )
        texts = text_mod.tokens_to_text(token_ids, token_lengths, text_mod.pseudo_words(params.vocab_size))
    sequences = {}
    for m, rng in (("audio", audio_rng), ("vision", vision_rng)):
        private = params.private_strength * rng.standard_normal((total, params.num_private))
        inputs = np.concatenate([weights[m] * s_unit[:, None], shared_weight * shared, private], axis=1)
        sequences[m] = _frames(rng, inputs, lengths[m], max_lengths[m], dims[m], params)
    if params.nonfinite_audio_rate > 0:
        _add_nonfinite(np.random.default_rng(np.random.SeedSequence(seed).spawn(7)[6]), sequences["audio"],
                       lengths["audio"], params.nonfinite_audio_rate)  # fmt: skip
    bounds = np.cumsum([0, *sizes])
    splits = {}
    for name, lo, hi in zip(names, bounds[:-1], bounds[1:]):
        splits[name] = SplitData(
            name=name,
            ids=ids[lo:hi],
            labels=labels[lo:hi].astype(np.float32),
            sequences={m: sequences[m][lo:hi] for m in sequences},
            lengths={m: lengths[m][lo:hi].copy() for m in sequences},
            token_ids=None if token_ids is None else token_ids[lo:hi],
            token_lengths=None if token_lengths is None else token_lengths[lo:hi],
            raw_text=texts[lo:hi],
        )
    meta = generator_meta(
        like, aligned, seed, total, text_from, params, max_lengths, dims, weights, shared_weight
    )
    return MultimodalDataset(splits=splits, meta=meta)


def _add_nonfinite(rng: np.random.Generator, seq: np.ndarray, lengths: np.ndarray, rate: float) -> None:
    """Sets the first feature of a ``rate`` fraction of valid frames of ``seq`` (N, T, D) to -inf, in place."""
    if not 0.0 <= rate <= 1.0:
        raise ConfigError(f"synthetic nonfinite_audio_rate={rate} must lie in [0, 1]")
    valid = np.arange(seq.shape[1])[None, :] < lengths[:, None]  # (N, T)
    seq[(rng.random(valid.shape) < rate) & valid, 0] = -np.inf


def _synthetic_text(
    rng: np.random.Generator,
    s_unit: np.ndarray,
    shared: np.ndarray,
    lengths: np.ndarray,
    max_lengths: dict[str, int],
    params: SynthParams,
) -> tuple[np.ndarray, np.ndarray]:
    num_words = params.vocab_size - text_mod.NUM_SPECIAL
    if num_words < 2:
        raise ConfigError(f"synthetic vocab_size={params.vocab_size} too small; use at least 5")
    base = rng.normal(0.0, 0.5, num_words)  # (W,)
    polarity = rng.standard_normal(num_words)  # (W,)
    shared_map = rng.standard_normal((params.num_shared, num_words))  # (k, W)
    private_map = rng.standard_normal((params.num_private, num_words))  # (p, W)
    private = rng.standard_normal((len(s_unit), params.num_private))  # (N, p)
    logits = (
        base[None, :]
        + params.text_signal * s_unit[:, None] * polarity[None, :]
        + params.shared_strength * shared @ shared_map
        + params.private_strength * private @ private_map
    )  # (N, W)
    return text_mod.sample_tokens(rng, logits, lengths - 2, max_lengths["text"])
