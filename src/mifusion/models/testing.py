"""Tiny specs and batches for tests and doctests (random, CPU, no files)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch

from mifusion.config import ModelConfig, SequenceEncoderConfig, TextEncoderConfig
from mifusion.data.batch import MultimodalBatch
from mifusion.data.spec import DataSpec

TINY_DIMS = {"text": 6, "audio": 5, "vision": 4}
TINY_VOCAB = 40


def tiny_spec(
    modalities: Sequence[str] = ("text", "audio", "vision"), aligned: bool = False, text_kind: str = "tokens"
) -> DataSpec:
    """A DataSpec with tiny feature sizes; text as token ids (vocab 40) or 6-d features."""
    dims = {m: TINY_DIMS[m] for m in modalities if m != "text" or text_kind == "features"}
    kind = text_kind if "text" in modalities else None
    return DataSpec(tuple(modalities), dims, kind, TINY_VOCAB if kind == "tokens" else None, aligned)


def tiny_batch(
    spec: DataSpec, size: int, seed: int = 0, max_len: int = 7, signal: Sequence[str] = ()
) -> MultimodalBatch:
    """A random right-padded batch for ``spec``; labels are a smooth function of the ``signal`` modalities.

    Each modality in ``signal`` adds ``tanh(mean of its first feature)`` (text tokens: the share of token
    ids in the upper half of the vocabulary, centred) to the label, scaled to about [-3, 3].
    """
    g = torch.Generator().manual_seed(seed)
    shared = torch.randint(1, max_len + 1, (size,), generator=g)
    batch = MultimodalBatch(ids=[str(i) for i in range(size)], labels=torch.zeros(size))
    score = torch.zeros(size)
    for m in spec.modalities:
        lengths = shared if spec.aligned else torch.randint(1, max_len + 1, (size,), generator=g)
        steps = int(lengths.max())
        mask = torch.arange(steps)[None, :] < lengths[:, None]  # (B, T)
        if m == "text" and spec.text_kind == "tokens":
            ids = torch.randint(1, TINY_VOCAB, (size, steps), generator=g) * mask
            batch.token_ids, batch.token_mask = ids, mask
            high = ((ids >= TINY_VOCAB // 2) & mask).float().sum(1) / lengths.float()
            contribution = 4.0 * (high - 0.5)
        else:
            x = torch.randn(size, steps, spec.feature_dims[m], generator=g) * mask.unsqueeze(-1)
            batch.sequences[m], batch.lengths[m], batch.masks[m] = x, lengths, mask
            contribution = 2.0 * x[..., 0].sum(1) / lengths.float()
        batch.present[m] = lengths > 0
        if m in signal:
            score = score + contribution
    batch.labels = 3.0 * torch.tanh(score / max(len(signal), 1))
    return batch


def pad_more(batch: MultimodalBatch, extra: int = 3) -> MultimodalBatch:
    """A copy with ``extra`` more (random-valued) padding steps that the masks mark invalid."""
    g = torch.Generator().manual_seed(123)
    out = MultimodalBatch(batch.ids, batch.labels, present=dict(batch.present), lengths=dict(batch.lengths))
    for m, x in batch.sequences.items():
        noise = torch.randn(x.shape[0], extra, x.shape[2], generator=g)
        out.sequences[m] = torch.cat([x, noise], dim=1)
        out.masks[m] = torch.cat([batch.masks[m], torch.zeros(x.shape[0], extra, dtype=torch.bool)], 1)
    if batch.token_ids is not None and batch.token_mask is not None:
        noise_ids = torch.randint(1, TINY_VOCAB, (batch.token_ids.shape[0], extra), generator=g)
        out.token_ids = torch.cat([batch.token_ids, noise_ids], dim=1)
        out.token_mask = torch.cat(
            [batch.token_mask, torch.zeros(batch.token_ids.shape[0], extra, dtype=torch.bool)], 1
        )
    return out


TINY_OPTIONS: dict[str, dict[str, object]] = {
    "lf_dnn": {"unimodal_dim": 8},
    "ef_lstm": {"proj_dim": 8, "lstm_dim": 16},
    "tfn": {"tensor_dim": 4},
    "lmf": {"unimodal_dim": 8, "rank": 2, "fused_dim": 8},
    "mult": {"dim": 8, "crossmodal_layers": 1},
    "misa": {"dim": 8},
    "mag_bert": {},
    "mmim": {"fusion_dim": 16},
    "graph_mfn": {
        "text_hidden": 4,
        "audio_hidden": 4,
        "vision_hidden": 4,
        "memory_dim": 6,
        "pattern_hidden": 8,
    },
    "mlf_dnn": {"unimodal_dim": 4},
    "mtfn": {"unimodal_dim": 3},
    "mlmf": {"unimodal_dim": 4, "rank": 2},
    "mfm": {
        "text_hidden": 4,
        "audio_hidden": 4,
        "vision_hidden": 4,
        "memory_dim": 6,
        "zy_dim": 4,
        "z_dim": 4,
    },
    "self_mm": {
        "audio_hidden": 4,
        "audio_out": 4,
        "vision_hidden": 4,
        "vision_out": 4,
        "fusion_dim": 8,
        "text_dim": 4,
        "audio_dim": 4,
        "vision_dim": 4,
    },
    "mctn": {"hid_dim": 4},
    "cenet": {},
    "almt": {
        "dim": 8,
        "tokens": 2,
        "heads": 2,
        "head_dim": 4,
        "ahl_depth": 2,
        "fusion_depth": 1,
        "mlp_dim": 8,
    },
    "tetfn": {
        "dim": 4,
        "heads": 2,
        "layers": 1,
        "fusion_dim": 8,
        "text_dim": 4,
        "audio_dim": 4,
        "vision_dim": 4,
    },
    "tfr_net": {
        "dim": 4,
        "num_heads": 2,
        "layers": 1,
        "temporal_heads": 2,
        "lengths": {"text": 10, "audio": 10, "vision": 10},
        "fusion_hidden": {"text": 4, "audio": 3, "vision": 5},
        "gru_layers": 1,
        "classifier_hidden": 8,
        "unk_token_id": 1,
    },
    "mfn": {"text_hidden": 4, "audio_hidden": 4, "vision_hidden": 4, "memory_dim": 6, "attention_hidden": 8},
}


def tiny_model_config(name: str, **options: object) -> ModelConfig:
    """A ModelConfig with tiny encoders (BERT hidden 32, 2 layers; LSTM 8) for tests."""
    return ModelConfig(
        name=name,
        text=TextEncoderConfig(hidden_size=32, num_layers=2, num_heads=2, intermediate_size=64),
        sequence=SequenceEncoderConfig(hidden_dim=8, output_dim=8),
        hidden_dim=16,
        dropout=0.0,
        options={**TINY_OPTIONS.get(name, {}), **options},
    )


def save_tiny_bert(
    path: str | Path, vocab_size: int = TINY_VOCAB, hidden_size: int = 32, seed: int = 0
) -> str:
    """Saves a randomly initialised tiny BERT (1 layer, 2 heads, no pooler) with a placeholder vocabulary
    (``[PAD] [UNK] [CLS] [SEP] [MASK] w5 ...``) as a local model directory, for tests that need a
    ``model.text.pretrained`` without a download. Returns the directory."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizer

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + [f"w{i}" for i in range(5, vocab_size)]
    (path / "vocab.txt").write_text("\n".join(words) + "\n", encoding="utf-8")
    BertTokenizer(str(path / "vocab.txt")).save_pretrained(path)
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=vocab_size, hidden_size=hidden_size, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=2 * hidden_size, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
    )  # fmt: skip
    BertModel(config, add_pooling_layer=False).save_pretrained(path)
    return str(path)
