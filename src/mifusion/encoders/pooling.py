"""Pooling of padded sequences under boolean masks (True = valid); all safe for zero-length rows."""

from __future__ import annotations

import torch
from torch import Tensor, nn


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


def masked_max(states: Tensor, mask: Tensor) -> Tensor:
    """Feature-wise maximum over valid positions; zero for rows without any valid position.

    Args:
        states: (B, T, D) padded states.
        mask: (B, T) True where a position is valid.

    Returns:
        (B, D) pooled vectors.

    Example:
        >>> x = torch.tensor([[[1.0], [3.0], [100.0]]])
        >>> masked_max(x, torch.tensor([[True, True, False]])).tolist()
        [[3.0]]
    """
    lowest = torch.finfo(states.dtype).min
    filled = states.masked_fill(~mask.unsqueeze(-1), lowest)  # (B, T, D)
    best = filled.max(dim=1).values  # (B, D)
    return torch.where(mask.any(dim=1, keepdim=True), best, torch.zeros_like(best))


def masked_softmax_weights(scores: Tensor, mask: Tensor) -> Tensor:
    """Softmax of (B, T) ``scores`` over valid positions; all-zero weights for rows without any."""
    lowest = torch.finfo(scores.dtype).min
    weights = torch.softmax(scores.masked_fill(~mask, lowest), dim=1)  # (B, T)
    return weights * mask.to(scores.dtype)


class AttentionPooling(nn.Module):
    """Additive attention pooling over valid steps (Bahdanau et al. 2015; Lin et al. 2017's self-attentive
    pooling with one head): ``sum_t softmax_t(v^T tanh(W h_t)) h_t``.

    Example:
        >>> pool = AttentionPooling(3)
        >>> out = pool(torch.randn(2, 4, 3), torch.tensor([[True, True, False, False], [False] * 4]))
        >>> tuple(out.shape), out[1].abs().sum().item()
        ((2, 3), 0.0)
    """

    def __init__(self, dim: int, hidden_dim: int | None = None) -> None:
        super().__init__()
        hidden = hidden_dim or dim
        self.score = nn.Sequential(nn.Linear(dim, hidden), nn.Tanh(), nn.Linear(hidden, 1, bias=False))

    def forward(self, states: Tensor, mask: Tensor) -> Tensor:
        """(B, T, D), (B, T) -> (B, D); padding gets zero weight, empty rows give zero."""
        weights = masked_softmax_weights(self.score(states).squeeze(-1), mask)  # (B, T)
        return torch.einsum("bt,btd->bd", weights, states)
