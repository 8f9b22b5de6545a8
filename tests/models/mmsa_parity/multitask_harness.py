"""The multi-task parity helpers (MLF-DNN, MTFN, MLMF): MMSA's classic models plus a head per modality."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from mifusion.data.batch import MultimodalBatch

from .harness import DIMS, classic_inputs, close, compare_gradients


def multitask_rules() -> list[tuple[str, str]]:
    """MMSA's per-modality post layers onto ``MultiTaskModel.unimodal_heads``."""
    return [
        (f"Model.post_{mmsa}_layer_{i}.", f"unimodal_heads.{ours}.{2 * i - 1}.")
        for mmsa, ours in (("text", "text"), ("audio", "audio"), ("video", "vision"))
        for i in (1, 2, 3)
    ]


def with_unimodal_labels(batch: MultimodalBatch, seed: int) -> MultimodalBatch:
    """``batch`` with random CH-SIMS-style unimodal labels in [-1, 1]."""
    g = torch.Generator().manual_seed(seed)
    for m in ("text", "audio", "vision"):
        batch.unimodal_labels[m] = torch.rand(len(batch), generator=g, dtype=torch.float64) * 2 - 1
    return batch


def compare_multitask(
    theirs: nn.Module, ours: nn.Module, mapping: Mapping[str, str], batch: MultimodalBatch
) -> None:
    """Prediction, unimodal vectors, each unimodal L1 term, MMSA's weighted total loss and every gradient.

    MMSA's loss is ``M * L1(M) + T * L1(T) + A * L1(A) + V * L1(V)`` (its multi-task trainer); mifusion's is
    ``L1(M) + sum_m w_m L1(m)`` with ``w_m`` = MMSA's weight / ``M``, so MMSA's total is ``M`` times it.
    """
    weights = mmsa_weights(theirs)
    theirs.train()
    ours.train()
    out_theirs = theirs(*classic_inputs(batch))
    out = ours(batch)
    close("prediction", out.prediction, out_theirs["M"])
    keys = {"text": "T", "audio": "A", "vision": "V"}
    losses = {"M": (out_theirs["M"].squeeze(-1) - batch.labels).abs().mean()}
    for m, key in keys.items():
        close(f"unimodal {m}", out.unimodal[m], out_theirs[f"Feature_{key.lower()}"])
        losses[key] = (out_theirs[key].squeeze(-1) - batch.unimodal_labels[m]).abs().mean()
        close(f"{m} term", out.terms[f"{m}_task"].value, losses[key])
    loss_theirs = sum(weights[k] * v for k, v in losses.items())
    loss_ours = (out.prediction - batch.labels).abs().mean() + sum(
        t.weight * t.value for t in out.terms.values()
    )
    close("loss", weights["M"] * loss_ours, loss_theirs)
    compare_gradients(theirs, ours, mapping, loss_theirs, weights["M"] * loss_ours)


_WEIGHTS: dict[int, dict[str, float]] = {}


def mmsa_weights(theirs: nn.Module) -> dict[str, float]:
    """The task weights (M, T, A, V) MMSA's config gave ``theirs`` (recorded by :func:`mmsa_multitask`)."""
    return _WEIGHTS[id(theirs)]


def mmsa_multitask(name: str, **overrides: Any) -> nn.Module:
    """MMSA's multi-task model ``name`` (its SIMS config: MMSA's multi-task models are SIMS models)."""
    from MMSA.config import get_config_regression  # type: ignore[import-not-found]
    from MMSA.models import AMIO  # type: ignore[import-not-found]

    args = get_config_regression(name, "sims")
    args.update(
        device=torch.device("cpu"), train_mode="regression",
        feature_dims=[DIMS[m] for m in ("text", "audio", "vision")], **overrides,
    )  # fmt: skip
    torch.manual_seed(0)
    model: nn.Module = AMIO(args).double()
    _WEIGHTS[id(model)] = {k: float(args[k]) for k in ("M", "T", "A", "V")}
    return model
