"""The code on docs/own-loop.md runs as written, on a toy model standing in for the reader's own."""

from __future__ import annotations

import contextlib
import io
import math
import re
from pathlib import Path
from types import SimpleNamespace

import torch
import torch.nn.functional as F
from torch import nn

PAGE = Path(__file__).resolve().parents[2] / "docs" / "own-loop.md"
DIMS = {"text": 32, "audio": 16, "vision": 16}


class ToyModel(nn.Module):
    """Returns what the page asks of the reader's model: prediction, modality -> (B, D), fused (B, 64)."""

    def __init__(self) -> None:
        super().__init__()
        self.encoders = nn.ModuleDict({m: nn.Linear(8, d) for m, d in DIMS.items()})
        self.fusion = nn.Linear(sum(DIMS.values()), 64)
        self.head = nn.Linear(64, 1)

    def forward(self, batch: SimpleNamespace) -> tuple[torch.Tensor, dict[str, torch.Tensor], torch.Tensor]:
        reps = {m: torch.tanh(self.encoders[m](batch.features[m])) for m in DIMS}
        fused = torch.tanh(self.fusion(torch.cat(list(reps.values()), dim=-1)))
        return self.head(fused).squeeze(-1), reps, fused


def _batch(generator: torch.Generator) -> SimpleNamespace:
    shared = torch.randn(16, 8, generator=generator)
    features = {m: shared + 0.5 * torch.randn(16, 8, generator=generator) for m in DIMS}
    return SimpleNamespace(features=features, labels=shared[:, 0].clamp(-3, 3))


def test_every_runnable_block_of_the_page_runs() -> None:
    blocks = re.findall(r"```python\n(.*?)```", PAGE.read_text(), flags=re.DOTALL)
    runnable = [b for b in blocks if "..." not in b]  # the model sketch is not meant to run
    assert len(runnable) >= 4, "own-loop.md lost its JS, Wasserstein, reading and MMIM blocks"
    generator = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    namespace = {
        "torch": torch,
        "F": F,
        "nn": nn,
        "model": ToyModel(),
        "batches": [_batch(generator) for _ in range(4)],
        "valid_batch": _batch(generator),
        "epochs": 2,
    }
    estimators = []
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        for block in runnable:
            exec(compile(block, str(PAGE), "exec"), namespace)
            if "penalty" in namespace:
                estimators.append(namespace["penalty"].estimator_name)
    assert {"js", "wasserstein_gp"} <= set(estimators)
    assert math.isfinite(namespace["loss"].total.item())  # the MMIM block ran last
    lines = printed.getvalue().splitlines()
    assert any("JS divergence" in line for line in lines), lines[:5]
    assert any("wasserstein" in line for line in lines), lines[:5]
