"""Shared fixtures: tiny synthetic datasets (session-scoped, generated in milliseconds)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mifusion.data.dataset import MultimodalDataset
from mifusion.data.synthetic import SynthParams, generate

_MOSI_CANDIDATES = [
    os.environ.get("MIFUSION_MOSI_LABEL_CSV", ""),  # explicit
    Path(__file__).resolve().parents[2] / "shared" / "data" / "mosi_text" / "label.csv",  # ../shared
    "/work/shared/data/mosi_text/label.csv",  # where this project's machines keep it
]
MOSI_LABEL_CSV = next((Path(c) for c in _MOSI_CANDIDATES if c and Path(c).is_file()), Path("label.csv"))
TINY_LENGTHS = {"text": 12, "audio": 20, "vision": 24}
TINY_WORDS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "good", "bad", "movie", "very", "not"]


@pytest.fixture(scope="session")
def tiny_encoder_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A tiny random BERT (hidden 8) and its 10-word tokenizer saved as a local model directory."""
    transformers = pytest.importorskip("transformers")
    import torch

    path = tmp_path_factory.mktemp("tiny_bert")
    vocab = path / "vocab.txt"
    vocab.write_text("\n".join(TINY_WORDS) + "\n", encoding="utf-8")
    transformers.BertTokenizer(str(vocab)).save_pretrained(path)
    torch.manual_seed(0)
    config = transformers.BertConfig(
        vocab_size=len(TINY_WORDS),
        hidden_size=8,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=16,
    )
    transformers.BertModel(config, add_pooling_layer=False).save_pretrained(path)
    return str(path)


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A tiny random BERT (hidden 32, dropout 0) over the tiny specs' 40-id vocabulary, as a local directory."""
    pytest.importorskip("transformers")
    from mifusion.models.testing import save_tiny_bert

    return save_tiny_bert(tmp_path_factory.mktemp("tiny_bert_40"))


@pytest.fixture(scope="session")
def tiny_dataset() -> MultimodalDataset:
    """48 MOSI-like samples (28/5/15), unaligned, text 12 / audio 20 / vision 24 frames at most."""
    return generate(like="mosi", n=48, seed=0, params=SynthParams(max_lengths=TINY_LENGTHS))


@pytest.fixture(scope="session")
def tiny_aligned_dataset() -> MultimodalDataset:
    """48 MOSI-like samples, word-aligned: one length per sample, all modalities padded to 12."""
    return generate(like="mosi", n=48, seed=0, aligned=True, params=SynthParams(max_lengths=TINY_LENGTHS))


@pytest.fixture(scope="session")
def mosi_label_csv() -> Path:
    """The real CMU-MOSI label.csv (text, labels, folds); skips the test when it is absent."""
    if not MOSI_LABEL_CSV.is_file():
        pytest.skip(f"real MOSI label.csv not found at {MOSI_LABEL_CSV}")
    return MOSI_LABEL_CSV
