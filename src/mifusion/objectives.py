"""The training objective: a task loss plus weighted auxiliary terms, each with an explicit sign.

A term that should be *maximised* (a mutual-information lower bound) enters with a negative weight.

Example:
    >>> import torch
    >>> out = compose_loss(torch.tensor(1.0), {"nce": WeightedTerm(torch.tensor(2.0), 0.1),
    ...                                        "ba": WeightedTerm(torch.tensor(3.0), -0.1)})
    >>> round(out.total.item(), 6), round(out.parts["weighted/ba"], 6)
    (0.9, -0.3)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

import torch
from torch import Tensor


class WeightedTerm(NamedTuple):
    """A scalar ``value`` that enters the loss as ``weight * value`` (weight < 0: maximised)."""

    value: Tensor
    weight: float


class ObjectiveOutput(NamedTuple):
    """The total loss to minimise, and every part as a float for logging."""

    total: Tensor
    parts: dict[str, float]


def task_loss(prediction: Tensor, target: Tensor, kind: str = "l1") -> Tensor:
    """Regression loss on the sentiment score: L1 (MMIM, MMSA) or MSE."""
    if kind == "l1":
        return torch.nn.functional.l1_loss(prediction, target)
    if kind == "mse":
        return torch.nn.functional.mse_loss(prediction, target)
    raise ValueError(f"unknown task loss {kind!r}; use 'l1' or 'mse'")


def compose_loss(task: Tensor, terms: Mapping[str, WeightedTerm]) -> ObjectiveOutput:
    """``task + sum(weight * value)``, with each raw and weighted term reported separately."""
    total = task
    parts = {"task": float(task.detach())}
    for name, term in terms.items():
        total = total + term.weight * term.value
        value = float(term.value.detach())
        parts[name] = value
        parts[f"weighted/{name}"] = term.weight * value
    parts["total"] = float(total.detach())
    return ObjectiveOutput(total, parts)
