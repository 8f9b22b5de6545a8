"""Pooling of padded sequences under boolean masks (True = valid); all safe for zero-length rows."""

from __future__ import annotations

import torch
from torch import Tensor


def masked_mean(states: Tensor, mask: Tensor) -> Tensor:
    """Mean over valid positions; zero for rows without any valid position.

    Args:
        states: (B, T, D) padded states.
        mask: (B, T) True where a position is valid.

    Returns:
        (B, D) pooled vectors.

    Example:
        >>> x = torch.tensor([[[1.0], [3.0], [100.0]]])
        >>> masked_mean(x, torch.tensor([[True, True, False]])).tolist()
        [[2.0]]
    """
    weights = mask.to(states.dtype).unsqueeze(-1)  # (B, T, 1)
    count = weights.sum(dim=1).clamp_min(1.0)  # (B, 1)
    return (states * weights).sum(dim=1) / count


def last_valid(states: Tensor, lengths: Tensor) -> Tensor:
    """The state at each row's last valid step (index ``length - 1``); zero for zero-length rows.

    Args:
        states: (B, T, D) padded states.
        lengths: (B,) true lengths.

    Returns:
        (B, D) the gathered states.

    Example:
        >>> x = torch.arange(6.0).view(1, 3, 2)
        >>> last_valid(x, torch.tensor([2])).tolist()
        [[2.0, 3.0]]
    """
    lengths = lengths.to(states.device)
    index = (lengths - 1).clamp_min(0).clamp_max(states.shape[1] - 1)  # (B,)
    gathered = states[torch.arange(states.shape[0], device=states.device), index]  # (B, D)
    return gathered * (lengths > 0).to(states.dtype).unsqueeze(-1)


def first_position(states: Tensor, mask: Tensor) -> Tensor:
    """The first position (e.g. [CLS]); zero for rows without any valid position.

    Args:
        states: (B, T, D) padded states.
        mask: (B, T) True where a position is valid.

    Returns:
        (B, D) the first state of each row.
    """
    return states[:, 0] * mask.any(dim=1).to(states.dtype).unsqueeze(-1)


def safe_key_padding_mask(mask: Tensor) -> Tensor:
    """Attention key padding mask (True = ignore) that never masks every key of a row.

    Rows without valid positions would give NaN attention; their first key is left visible, and callers
    zero the result for those rows.

    Args:
        mask: (B, T) True where a position is valid.

    Returns:
        (B, T) True where a key must be ignored.
    """
    ignore = ~mask
    empty = ~mask.any(dim=1)  # (B,)
    if bool(empty.any()):
        ignore = ignore.clone()
        ignore[:, 0] = ignore[:, 0] & ~empty
    return ignore
