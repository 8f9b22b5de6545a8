"""Low-rank multimodal fusion (LMF, Liu et al. 2018): modality-specific rank-r factors."""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor, nn


class LowRankFusion(nn.Module):
    """``sum_r prod_m (W_m^r [1; z_m])`` projected to ``output_dim``, without forming the TFN tensor.

    Example:
        >>> fusion = LowRankFusion({"text": 3, "audio": 2}, output_dim=4, rank=2)
        >>> tuple(fusion({"text": torch.randn(5, 3), "audio": torch.randn(5, 2)}).shape)
        (5, 4)
    """

    def __init__(self, dims: Mapping[str, int], output_dim: int, rank: int) -> None:
        super().__init__()
        self.factors = nn.ParameterDict(
            {m: nn.Parameter(torch.empty(rank, d + 1, output_dim)) for m, d in dims.items()}
        )
        self.rank_weights = nn.Parameter(torch.empty(1, rank))
        self.bias = nn.Parameter(torch.zeros(output_dim))
        for p in self.factors.values():
            nn.init.xavier_normal_(p)
        nn.init.xavier_normal_(self.rank_weights)

    def forward(self, vectors: Mapping[str, Tensor]) -> Tensor:
        """modality -> (B, D_m) to (B, output_dim)."""
        product: Tensor | None = None
        for m, factor in self.factors.items():
            z = vectors[m]
            z1 = torch.cat([z.new_ones(z.shape[0], 1), z], dim=-1)  # (B, D+1)
            projected = torch.einsum("bd,rdo->rbo", z1, factor)  # (R, B, O)
            product = projected if product is None else product * projected
        assert product is not None
        fused = torch.einsum("xr,rbo->bo", self.rank_weights, product)  # (B, O)
        return fused + self.bias
