"""Samples of the product of marginals, as index tuples into the batch.

Joint samples are rows ``(z1_i, ..., zk_i)``; a negative is ``(z1_i, z2_{p2(i)}, ..., zk_{pk(i)})``.
``derangement`` keeps the first variable in place and moves every other one so that no negative reuses a
row's own partner: for two variables a uniformly random derangement (no fixed points); for three or more,
a random relabelling of the batch followed by distinct cyclic shifts per variable, so that every negative
tuple draws each variable from a *different* sample (no pairwise dependency survives between permuted
variables). ``all_pairs`` scores every off-diagonal pair (two variables) or B - 1 such draws (three+).

Example:
    >>> import torch
    >>> p = derangement(5, generator=torch.Generator().manual_seed(0))
    >>> bool((p == torch.arange(5)).any())
    False
"""

from __future__ import annotations

import torch
from torch import Tensor

NEGATIVES = ("derangement", "all_pairs")


def derangement(
    n: int, *, generator: torch.Generator | None = None, device: torch.device | None = None
) -> Tensor:
    """A uniformly random permutation of ``range(n)`` without fixed points (n >= 2), by rejection."""
    if n < 2:
        raise ValueError(f"a derangement needs at least 2 elements, got {n}")
    identity = torch.arange(n)
    while True:  # acceptance probability ~ 1/e
        perm = torch.randperm(n, generator=generator)
        if not bool((perm == identity).any()):
            return perm.to(device) if device is not None else perm


def shifted_tuples(
    n: int,
    num_variables: int,
    *,
    generator: torch.Generator | None = None,
    device: torch.device | None = None,
) -> Tensor:
    """(k, n) indices: variable 0 unmoved, variable j >= 1 shifted by a distinct nonzero cyclic offset
    in a random relabelling of the batch, so each column uses distinct samples when n >= k."""
    if n < 2:
        raise ValueError(f"negatives need at least 2 samples, got {n}")
    order = torch.randperm(n, generator=generator)  # position -> sample
    position = torch.empty_like(order)
    position[order] = torch.arange(n)  # sample -> position
    count = num_variables - 1
    if n - 1 >= count:
        shifts = torch.randperm(n - 1, generator=generator)[:count] + 1
    else:  # fewer samples than variables: offsets repeat (unavoidable)
        shifts = torch.arange(count) % (n - 1) + 1
    rows = [torch.arange(n)]
    for shift in shifts.tolist():
        rows.append(order[(position + shift) % n])
    out = torch.stack(rows)
    return out.to(device) if device is not None else out


def negative_indices(
    batch_size: int,
    num_variables: int,
    negatives: str = "derangement",
    *,
    generator: torch.Generator | None = None,
    device: torch.device | None = None,
) -> Tensor:
    """(k, M) index tuples of product-of-marginals samples.

    Args:
        batch_size: B (at least 2).
        num_variables: k (at least 2).
        negatives: "derangement" (M = B) or "all_pairs" (M = B (B - 1)).
    """
    if negatives not in NEGATIVES:
        raise ValueError(f"unknown negatives {negatives!r}; use one of {NEGATIVES}")
    if num_variables == 2 and negatives == "derangement":
        perm = derangement(batch_size, generator=generator)
        out = torch.stack([torch.arange(batch_size), perm])
    elif num_variables == 2:
        rows, cols = torch.meshgrid(torch.arange(batch_size), torch.arange(batch_size), indexing="ij")
        keep = rows != cols
        out = torch.stack([rows[keep], cols[keep]])
    elif negatives == "derangement":
        out = shifted_tuples(batch_size, num_variables, generator=generator)
    else:
        draws = [
            shifted_tuples(batch_size, num_variables, generator=generator) for _ in range(batch_size - 1)
        ]
        out = torch.cat(draws, dim=1)
    return out.to(device) if device is not None else out
