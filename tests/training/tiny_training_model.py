"""A tiny FusionModel and dataset for trainer tests (terms, estimator_loss, diagnostics all exercised)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from mifusion.config import ExperimentConfig, from_dict
from mifusion.data.batch import MultimodalBatch
from mifusion.data.dataset import MultimodalDataset, SplitData
from mifusion.data.prepared import PreparedData
from mifusion.data.spec import DataSpec, data_spec
from mifusion.estimators.base import EstimatorModule
from mifusion.models.base import FusionModel, ModelOutput
from mifusion.objectives import WeightedTerm

VOCAB = 30


class Critic(EstimatorModule):
    """Bilinear critic between text and audio vectors (an InfoNCE-style bound)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.weight = nn.Linear(dim, dim, bias=False)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        scores = x @ self.weight(y).T  # (B, B)
        return (scores.diag() - torch.logsumexp(scores, dim=1)).mean()


class TinyModel(FusionModel):
    """Masked means of embeddings/frames -> linear head; an InfoNCE term between text and audio."""

    has_consistency_scores = True

    def __init__(self, spec: DataSpec, dim: int = 8, nan_after: int | None = None) -> None:
        super().__init__()
        self.modalities = spec.modalities
        self.text_encoder = nn.Embedding(VOCAB, dim)
        self.proj = nn.ModuleDict({m: nn.Linear(spec.feature_dims[m], dim) for m in spec.feature_dims})
        self.dropout = nn.Dropout(0.1)
        self.head = nn.Linear(dim * len(spec.modalities), 1)
        self.critic = Critic(dim)
        self.nan_after = nan_after
        self.calls = 0

    def encode(self, batch: MultimodalBatch) -> dict[str, torch.Tensor]:
        out = {}
        for m in self.modalities:
            if m == "text":
                x, mask = self.text_encoder(batch.token_ids), batch.token_mask
            else:
                x, mask = self.proj[m](batch.sequences[m]), batch.masks[m]
            w = mask.float().unsqueeze(-1)  # (B, T, 1)
            out[m] = (x * w).sum(1) / w.sum(1).clamp(min=1.0)  # (B, D)
        return out

    def forward(self, batch: MultimodalBatch) -> ModelOutput:
        self.calls += 1
        vecs = self.encode(batch)
        fused = self.dropout(torch.cat([vecs[m] for m in self.modalities], dim=-1))
        prediction = self.head(fused).squeeze(-1)
        estimate = self.critic(vecs["text"], vecs["audio"])
        if self.nan_after is not None and self.calls > self.nan_after:
            estimate = estimate * float("nan")
        detached = self.critic(vecs["text"].detach(), vecs["audio"].detach())
        return ModelOutput(
            prediction, unimodal=vecs, fused=fused,
            terms={"nce": WeightedTerm(-estimate, 0.1)},
            estimator_loss=-detached, diagnostics={"text_norm": vecs["text"].norm(dim=-1).mean().detach()},
        )  # fmt: skip

    def consistency_scores(self, batch: MultimodalBatch) -> torch.Tensor:
        vecs = self.encode(batch)
        return (vecs["text"] * self.critic.weight(vecs["audio"])).sum(-1)


def tiny_dataset(n: int = 96, seed: int = 0) -> MultimodalDataset:
    """Text tokens + audio + vision; the label depends on the text tokens and the audio mean."""
    rng = np.random.default_rng(seed)
    splits = {}
    for name, size in (("train", n), ("valid", n // 3), ("test", n // 3)):
        tlen = rng.integers(1, 9, size)
        tokens = rng.integers(1, VOCAB, (size, 8)) * (np.arange(8)[None] < tlen[:, None])
        alen = rng.integers(1, 6, size)
        audio = rng.normal(size=(size, 5, 3)).astype(np.float32) * (
            np.arange(5)[None, :, None] < alen[:, None, None]
        )
        vision = rng.normal(size=(size, 4, 2)).astype(np.float32)
        score = (tokens >= VOCAB // 2).sum(1) / tlen - 0.5 + audio[..., 0].sum(1) / alen
        splits[name] = SplitData(
            name, np.array([f"{name}{i}" for i in range(size)]), (3 * np.tanh(score)).astype(np.float32),
            sequences={"audio": audio, "vision": vision},
            lengths={"audio": alen.astype(np.int64), "vision": np.full(size, 4, dtype=np.int64)},
            token_ids=tokens.astype(np.int64), token_lengths=tlen.astype(np.int64),
            raw_text=[f"sample {i}" for i in range(size)],
        )  # fmt: skip
    return MultimodalDataset(splits, {"source": "<tiny>", "vocab_size": VOCAB})


def tiny_prepared(n: int = 96) -> PreparedData:
    dataset = tiny_dataset(n)
    return PreparedData(dataset, data_spec(dataset), None, None)


def tiny_config(**train: object) -> ExperimentConfig:
    base = {"epochs": 3, "batch_size": 16, "early_stopping_patience": 5, "device": "cpu", "lr": 0.01}
    return from_dict(ExperimentConfig, {"train": {**base, **train}, "model": {"name": "tiny"}})


def install(monkeypatch: object = None) -> None:
    """Makes the runner build TinyModel and read tiny data (monkeypatch or, in a subprocess, direct)."""
    import mifusion.experiments.runner as runner

    def build(cfg: ExperimentConfig, data: PreparedData) -> TinyModel:
        return TinyModel(data.spec)

    def prepare(cfg: ExperimentConfig) -> PreparedData:
        return tiny_prepared()

    if monkeypatch is None:
        runner.build = build  # type: ignore[assignment]
        runner.prepare_data = prepare  # type: ignore[assignment]
    else:
        monkeypatch.setattr(runner, "build", build)  # type: ignore[attr-defined]
        monkeypatch.setattr(runner, "prepare_data", prepare)  # type: ignore[attr-defined]
