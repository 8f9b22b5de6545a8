"""Per-step learning-rate schedules: linear warm-up, then constant, linear or cosine decay to zero.

``train.lr_schedule`` picks the shape and ``train.warmup_fraction`` the share of all steps
(``train.epochs`` times the batches per epoch) spent warming up. The factor multiplies every parameter
group's own learning rate (head, text encoder layers), as in Devlin et al. 2019 (BERT fine-tuning:
linear warm-up then linear decay) and Loshchilov & Hutter 2017 (SGDR: cosine). ``plateau`` (the default)
means no per-step schedule; ReduceLROnPlateau on validation loss then runs once per epoch instead.

Example:
    >>> [round(lr_factor(s, total=10, warmup=2, shape="linear"), 3) for s in (0, 1, 2, 6, 9)]
    [0.5, 1.0, 1.0, 0.5, 0.125]
    >>> round(lr_factor(5, total=10, warmup=0, shape="cosine"), 3)
    0.5
"""

from __future__ import annotations

import math

import torch

SHAPES = ("constant", "linear", "cosine")


def lr_factor(step: int, total: int, warmup: int, shape: str) -> float:
    """The learning-rate multiplier of optimisation step ``step`` (0-based) of ``total``.

    Warm-up: ``(step + 1) / warmup`` for the first ``warmup`` steps (so the first step already moves).
    Then ``constant`` stays at 1; ``linear`` falls from 1 to 0 over the remaining steps; ``cosine``
    follows half a cosine from 1 to 0. Steps past ``total`` (a resumed run given more epochs) get the
    value at ``total``.
    """
    if shape not in SHAPES:
        raise ValueError(f"schedule shape {shape!r}; use one of {', '.join(SHAPES)}")
    if step < warmup:
        return (step + 1) / warmup
    if shape == "constant":
        return 1.0
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    if shape == "linear":
        return 1.0 - progress
    return 0.5 * (1.0 + math.cos(math.pi * progress))


def build_step_schedule(
    optimizer: torch.optim.Optimizer, shape: str, warmup_fraction: float, total_steps: int
) -> torch.optim.lr_scheduler.LambdaLR | None:
    """A LambdaLR stepped after every optimisation step, or None for ``shape="plateau"``.

    Its state (the step count) goes into the checkpoint with the optimisers', so a resumed run continues
    the schedule exactly.
    """
    if shape == "plateau":
        return None
    warmup = round(warmup_fraction * total_steps)
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: lr_factor(step, total_steps, warmup, shape)
    )
