"""Crossmodal attention blocks (MulT, Tsai et al. 2019): a target sequence attends to a source sequence."""

from __future__ import annotations

from torch import Tensor, nn

from mifusion.encoders.pooling import safe_key_padding_mask


class CrossmodalLayer(nn.Module):
    """Pre-norm crossmodal attention (queries: target, keys/values: source) plus a feed-forward block."""

    def __init__(self, dim: int, num_heads: int, dropout: float) -> None:
        super().__init__()
        self.norm_target = nn.LayerNorm(dim)
        self.norm_source = nn.LayerNorm(dim)
        self.attention = nn.MultiheadAttention(dim, num_heads, dropout=dropout, batch_first=True)
        self.norm_ff = nn.LayerNorm(dim)
        self.feed_forward = nn.Sequential(
            nn.Linear(dim, 4 * dim), nn.ReLU(), nn.Dropout(dropout), nn.Linear(4 * dim, dim)
        )

    def forward(self, target: Tensor, source: Tensor, source_mask: Tensor) -> Tensor:
        """target (B, Tt, D), source (B, Ts, D), source_mask (B, Ts) True=valid -> (B, Tt, D).

        Samples whose source is empty receive no crossmodal update (only the feed-forward block).
        """
        has_source = source_mask.any(dim=1).to(target.dtype)[:, None, None]  # (B, 1, 1)
        query = self.norm_target(target)
        key = self.norm_source(source)
        attended, _ = self.attention(
            query, key, key, key_padding_mask=safe_key_padding_mask(source_mask), need_weights=False
        )
        h = target + attended * has_source
        return h + self.feed_forward(self.norm_ff(h))


class CrossmodalTransformer(nn.Module):
    """A stack of :class:`CrossmodalLayer` from one source modality into one target modality.

    Example:
        >>> import torch
        >>> block = CrossmodalTransformer(8, num_heads=2, num_layers=1, dropout=0.0)
        >>> out = block(torch.randn(2, 3, 8), torch.randn(2, 5, 8), torch.ones(2, 5, dtype=torch.bool))
        >>> tuple(out.shape)
        (2, 3, 8)
    """

    def __init__(self, dim: int, num_heads: int, num_layers: int, dropout: float) -> None:
        super().__init__()
        self.layers = nn.ModuleList(CrossmodalLayer(dim, num_heads, dropout) for _ in range(num_layers))
        self.norm = nn.LayerNorm(dim)

    def forward(self, target: Tensor, source: Tensor, source_mask: Tensor) -> Tensor:
        """(B, Tt, D), (B, Ts, D), (B, Ts) -> (B, Tt, D)."""
        h = target
        for layer in self.layers:
            h = layer(h, source, source_mask)
        return self.norm(h)
