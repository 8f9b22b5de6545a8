"""MISA's auxiliary losses as pure functions (Hazarika et al., ACM MM 2020)."""

from __future__ import annotations

import torch
from torch import Tensor

EPS = 1e-8


def _norm(x: Tensor, eps: float = EPS) -> Tensor:
    """Euclidean norm; ``eps`` under the root keeps its gradient finite at zero."""
    return torch.sqrt((x * x).sum() + eps)


def central_moment_discrepancy(x: Tensor, y: Tensor, moments: int = 5, eps: float = EPS) -> Tensor:
    """CMD (Zellinger et al. 2017) between samples x (B, D) and y (B, D): mean gap plus central moments.

    ``eps`` is added under each square root (MMSA adds none: ``eps=0`` matches it).

    Example:
        >>> x = torch.randn(16, 3)
        >>> float(central_moment_discrepancy(x, x)) < 1e-3
        True
    """
    mean_x, mean_y = x.mean(0), y.mean(0)
    total = _norm(mean_x - mean_y, eps)
    cx, cy = x - mean_x, y - mean_y
    for k in range(2, moments + 1):
        total = total + _norm((cx**k).mean(0) - (cy**k).mean(0), eps)
    return total


def soft_orthogonality(x: Tensor, y: Tensor, detach_norm: bool = False) -> Tensor:
    """Squared Frobenius norm of the correlation between centred, row-normalised x and y (B, D).

    ``detach_norm`` divides by row norms that carry no gradient (as MMSA's ``DiffLoss`` does).

    Example:
        >>> x = torch.randn(8, 4)
        >>> float(soft_orthogonality(x, x)) > float(soft_orthogonality(x, torch.randn(8, 4)))
        True
    """
    x = x - x.mean(0)
    y = y - y.mean(0)
    x_norm, y_norm = x.norm(dim=1, keepdim=True), y.norm(dim=1, keepdim=True)
    if detach_norm:
        x_norm, y_norm = x_norm.detach(), y_norm.detach()
    x = x / (x_norm + 1e-6)
    y = y / (y_norm + 1e-6)
    return ((x.T @ y) ** 2).mean()
