"""Concatenation fusion in the fixed modality order."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import Tensor


def concat_fusion(vectors: Mapping[str, Tensor], order: Sequence[str]) -> Tensor:
    """Concatenates (B, D_m) vectors in ``order`` into (B, sum D_m).

    Example:
        >>> concat_fusion({"audio": torch.ones(1, 2), "text": torch.zeros(1, 1)}, ("text", "audio")).tolist()
        [[0.0, 1.0, 1.0]]
    """
    return torch.cat([vectors[m] for m in order], dim=-1)
