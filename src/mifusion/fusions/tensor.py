"""Tensor fusion (TFN, Zadeh et al. 2017): the outer product of ``[1; z_m]`` over modalities."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor


def tensor_fusion(vectors: Sequence[Tensor]) -> Tensor:
    """Flattened outer product of each vector extended with a constant 1.

    Unimodal, bimodal and trimodal interactions all survive because of the appended 1.

    Args:
        vectors: M tensors (B, D_m).

    Returns:
        (B, prod_m (D_m + 1)).

    Example:
        >>> out = tensor_fusion([torch.ones(2, 3), torch.ones(2, 1)])
        >>> tuple(out.shape)
        (2, 8)
    """
    fused = None
    for z in vectors:
        z1 = torch.cat([z.new_ones(z.shape[0], 1), z], dim=-1)  # (B, D+1)
        fused = z1 if fused is None else torch.einsum("bi,bj->bij", fused, z1).flatten(1)
    assert fused is not None, "tensor_fusion needs at least one vector"
    return fused
