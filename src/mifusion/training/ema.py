"""An exponential moving average of a model's trainable weights (``train.ema_decay``).

After every optimisation step the average moves towards the live weights:
``average = d * average + (1 - d) * weight`` with ``d = min(decay, (1 + n) / (10 + n))`` after n
updates (the warm-up of TensorFlow's ExponentialMovingAverage, so the random start fades quickly; Polyak &
Juditsky 1992 for averaging, Izmailov et al. 2018 for its use in deep learning). Validation, the
selected checkpoint (``best.pt``) and therefore test use the averaged weights; ``last.pt`` keeps the live
weights and the average (:meth:`WeightAverage.state_dict`), so a resumed run continues exactly.
Buffers (e.g. BatchNorm statistics) and frozen parameters are not averaged: the live ones are used.

Example:
    >>> import torch
    >>> lin = torch.nn.Linear(1, 1, bias=False)
    >>> _ = lin.weight.data.fill_(0.0)
    >>> ema = WeightAverage(lin, decay=0.5)
    >>> _ = lin.weight.data.fill_(1.0); ema.update(lin)
    >>> with averaged_weights(ema, lin):
    ...     round(float(lin.weight.detach()), 3)
    0.9
    >>> float(lin.weight.detach())
    1.0
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import torch
from torch import nn

WARMUP = 10
"""The ``10`` in the warm-up ``(1 + n) / (10 + n)``."""


class WeightAverage:
    """The moving average of ``model``'s trainable parameters (by name, as ``named_parameters`` gives them).

    Args:
        model: the plain (unwrapped) model whose parameters the optimiser steps.
        decay: the asymptotic decay ``d`` in (0, 1); 0.999 averages over about 1000 steps.
    """

    def __init__(self, model: nn.Module, decay: float) -> None:
        if not 0.0 < decay < 1.0:
            raise ValueError(f"train.ema_decay={decay!r} must be in (0, 1), e.g. 0.99")
        self.decay = decay
        self.updates = 0
        self.shadow = {name: p.detach().clone() for name, p in model.named_parameters() if p.requires_grad}

    def current_decay(self) -> float:
        """The decay the next update uses (warm-up included)."""
        return min(self.decay, (1 + self.updates) / (WARMUP + self.updates))

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        """Moves the average one step towards ``model``'s current parameters."""
        d = self.current_decay()
        for name, p in model.named_parameters():
            average = self.shadow.get(name)
            if average is None:
                continue
            if average.device != p.device:
                average = self.shadow[name] = average.to(p.device)
            average.lerp_(p.detach().to(average.dtype), 1.0 - d)
        self.updates += 1

    @torch.no_grad()
    def swap(self, model: nn.Module) -> None:
        """Exchanges the live parameters and the averaged ones in place (twice restores them)."""
        for name, p in model.named_parameters():
            average = self.shadow.get(name)
            if average is not None:
                live = p.detach().clone()
                p.copy_(average)
                average.copy_(live)

    def state_dict(self) -> dict[str, Any]:
        """Everything a resumed run needs (the averages, the update count, the decay)."""
        return {"decay": self.decay, "updates": self.updates, "shadow": dict(self.shadow)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Inverse of :meth:`state_dict`; the parameter names must match."""
        missing = set(self.shadow) ^ set(state["shadow"])
        if missing:
            raise KeyError(f"weight average: parameters differ from the checkpoint's ({sorted(missing)[0]})")
        self.decay, self.updates = float(state["decay"]), int(state["updates"])
        for name, value in state["shadow"].items():
            self.shadow[name].copy_(value)


def build_weight_average(model: nn.Module, decay: float | None) -> WeightAverage | None:
    """A :class:`WeightAverage` of ``model``, or None when ``decay`` is None (``train.ema_decay`` unset)."""
    return None if decay is None else WeightAverage(model, decay)


@contextlib.contextmanager
def averaged_weights(average: WeightAverage | None, model: nn.Module) -> Iterator[None]:
    """Inside the block ``model`` holds the averaged weights (nothing changes when ``average`` is None)."""
    if average is None:
        yield
        return
    average.swap(model)
    try:
        yield
    finally:
        average.swap(model)
