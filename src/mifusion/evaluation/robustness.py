"""Test-time robustness: drop each modality and each pair (two definitions) and add Gaussian noise.

Drop definitions, reported side by side because published claims differ:

- ``masked``: the modality is marked absent (``present`` False, length 0, empty mask), as
  :meth:`MultimodalBatch.without` does; the model sees that it is missing.
- ``zeroed``: its features are zero-filled (token ids set to 0 for token text) but lengths and masks
  are kept; the model sees an all-zero input.

Noise adds N(0, sigma^2) to every frame feature (audio, vision, precomputed text; standardised units).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import partial

import torch

from mifusion.data.batch import MultimodalBatch

NOISE_LEVELS: tuple[float, ...] = (0.1, 0.5, 1.0)

Transform = Callable[[MultimodalBatch], MultimodalBatch]


@dataclass(frozen=True)
class Condition:
    """One test-time perturbation."""

    name: str
    kind: str  # "intact", "masked", "zeroed" or "noise"
    transform: Transform | None


def _without(batch: MultimodalBatch, modalities: Sequence[str]) -> MultimodalBatch:
    return batch.without(modalities)


def zero_fill(batch: MultimodalBatch, modalities: Sequence[str]) -> MultimodalBatch:
    """A copy with ``modalities``' features (or token ids) zeroed; lengths and masks unchanged."""
    out = replace(batch, sequences=dict(batch.sequences))
    for m in modalities:
        if m in out.sequences:
            out.sequences[m] = torch.zeros_like(out.sequences[m])
        if m == "text" and out.token_ids is not None:
            out.token_ids = torch.zeros_like(out.token_ids)
    return out


def add_noise(batch: MultimodalBatch, sigma: float, generator: torch.Generator) -> MultimodalBatch:
    """A copy with Gaussian noise of standard deviation ``sigma`` on every valid frame."""
    out = replace(batch, sequences=dict(batch.sequences))
    for m, seq in batch.sequences.items():
        noise = torch.randn(seq.shape, generator=generator).to(seq.device, seq.dtype)
        out.sequences[m] = seq + sigma * noise * batch.masks[m].unsqueeze(-1)
    return out


def conditions(
    modalities: Sequence[str], noise_levels: Sequence[float] = NOISE_LEVELS, seed: int = 0
) -> list[Condition]:
    """Intact; every drop of one modality or a pair (at least one modality remains), both definitions;
    Gaussian noise at ``noise_levels`` (seeded)."""
    out = [Condition("intact", "intact", None)]
    drops = [c for r in range(1, len(modalities)) for c in itertools.combinations(modalities, r)]
    for combo in drops:
        label = "-" + "-".join(combo)
        out.append(Condition(label, "masked", partial(_without, modalities=combo)))
        out.append(Condition(label, "zeroed", partial(zero_fill, modalities=combo)))
    for sigma in noise_levels:
        generator = torch.Generator().manual_seed(seed)
        out.append(
            Condition(f"noise {sigma:g}", "noise", partial(add_noise, sigma=sigma, generator=generator))
        )
    return out
