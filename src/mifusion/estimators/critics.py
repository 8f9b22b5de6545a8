"""Critics (statistics networks) and the input standardisation they see.

A critic scores aligned rows of k variables: ``critic([z1, ..., zk]) -> (N,)``. The joint critic is an
MLP on the concatenation (MINE, Belghazi et al., ICML 2018); the separable critic embeds each variable
apart and scores a row by the sum of pairwise inner products of the embeddings, so a (B, B) score matrix
of all pairs costs one matrix product (Oord et al., CPC, 2018).

Standardisation (``standardize=``), with batch statistics that carry no gradient, so an encoder cannot
change what the critic sees by rescaling its outputs:

- ``"robust"`` (default): ``c asinh(u / c)`` with ``u = (z - median) / (1.4826 MAD)`` per feature and
  ``c = 3``. Median and MAD survive heavy tails (Cauchy); the squashing is nearly the identity within
  three robust standard deviations and logarithmic beyond, so the critic never sees huge values. Both
  maps are invertible per variable, so the mutual information is unchanged.
- ``"running"`` (critic estimators and Barber-Agakov's y only): as ``"robust"``, but with running
  median/MAD statistics (:class:`RunningAffine`) instead of the batch's: one fixed map, no per-batch
  shift/scale noise (which blurs sharp density ratios), but slower to follow an encoder's rescaling.
- ``"batch"``: ``(z - mean) / std`` per feature.
- ``"none"``: raw inputs.

Example:
    >>> import torch
    >>> critic = JointCritic((3, 2), hidden_dim=8, num_layers=1)
    >>> critic([torch.randn(5, 3), torch.randn(5, 2)]).shape
    torch.Size([5])
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn
from torch.nn.utils.parametrizations import spectral_norm as _spectral_norm

STANDARDIZE = ("robust", "batch", "none")
MAD_TO_STD = 1.4826
"""Scale that makes the median absolute deviation a consistent estimate of a Gaussian's std."""
SCALE_FLOOR = 1e-6
SQUASH_SCALE = 3.0
"""``c asinh(z / c)``: nearly the identity within c robust standard deviations, logarithmic beyond."""
RUNNING_MOMENTUM = 0.01
"""Weight of the current batch in running median/MAD statistics (the first batch initialises them)."""


def standardize(z: Tensor, mode: str = "robust") -> Tensor:
    """Per-feature standardisation of (B, D) with detached batch statistics (see module docstring)."""
    if mode == "none":
        return z
    if mode == "robust":
        center = z.detach().median(dim=0, keepdim=True).values  # (1, D)
        mad = (z.detach() - center).abs().median(dim=0, keepdim=True).values
        scale = torch.clamp(MAD_TO_STD * mad, min=SCALE_FLOOR)
        return SQUASH_SCALE * torch.asinh((z - center) / (scale * SQUASH_SCALE))
    if mode == "batch":
        center = z.detach().mean(dim=0, keepdim=True)
        scale = torch.clamp(z.detach().std(dim=0, unbiased=False, keepdim=True), min=SCALE_FLOOR)
        return (z - center) / scale
    raise ValueError(f"unknown standardize mode {mode!r}; use one of {STANDARDIZE}")


class RunningAffine(nn.Module):
    """Detached per-feature ``(y - centre) / scale`` with running median / 1.4826 MAD statistics.

    Training mode: the batch statistics update an exponential moving average (``momentum`` per batch; the
    first batch sets them), and the updated running values are used. Eval mode: the running values as they
    are (the batch's own until a training batch has been seen). No statistic carries a gradient.

    Example:
        >>> import torch
        >>> affine = RunningAffine(2)
        >>> y_std, log_scale = affine(torch.randn(32, 2))
        >>> y_std.shape, bool(affine.initialized)
        (torch.Size([32, 2]), True)
    """

    center: Tensor
    scale: Tensor
    initialized: Tensor

    def __init__(self, dim: int, momentum: float = RUNNING_MOMENTUM) -> None:
        super().__init__()
        self.momentum = momentum
        self.register_buffer("center", torch.zeros(dim))
        self.register_buffer("scale", torch.ones(dim))
        self.register_buffer("initialized", torch.tensor(False))

    def forward(self, y: Tensor) -> tuple[Tensor, Tensor]:
        """(B, D) -> standardised (B, D) and the sum of log scales (the log-Jacobian to subtract)."""
        if self.training or not bool(self.initialized):
            center, scale = _median_mad(y.detach())
            if self.training:
                with torch.no_grad():
                    weight = self.momentum if bool(self.initialized) else 1.0
                    self.center.lerp_(center, weight)
                    self.scale.lerp_(scale, weight)
                    self.initialized.fill_(True)
                center, scale = self.center, self.scale
        else:
            center, scale = self.center, self.scale
        return (y - center) / scale, torch.log(scale).sum()


def _median_mad(y: Tensor) -> tuple[Tensor, Tensor]:
    """Per-feature median and 1.4826 MAD (floored) of (B, D), each (D,)."""
    center = y.median(dim=0).values
    scale = torch.clamp(MAD_TO_STD * (y - center).abs().median(dim=0).values, SCALE_FLOOR)
    return center, scale


def mlp(
    in_dim: int, hidden_dim: int, num_layers: int, out_dim: int, *, spectral_norm: bool = False
) -> nn.Sequential:
    """``num_layers`` hidden ReLU layers of ``hidden_dim`` units, then a linear output layer."""
    layers: list[nn.Module] = []
    width = in_dim
    for _ in range(num_layers):
        layers += [_linear(width, hidden_dim, spectral_norm), nn.ReLU()]
        width = hidden_dim
    layers.append(_linear(width, out_dim, spectral_norm))
    return nn.Sequential(*layers)


def _linear(in_dim: int, out_dim: int, spectral_norm: bool) -> nn.Module:
    layer = nn.Linear(in_dim, out_dim)
    return _spectral_norm(layer) if spectral_norm else layer


class Critic(nn.Module):
    """Scores aligned rows of k variables; ``pair_matrix`` scores all (x_i, y_j) pairs of two."""

    dims: tuple[int, ...]

    def forward(self, views: Sequence[Tensor]) -> Tensor:  # pragma: no cover - interface
        raise NotImplementedError

    def pair_matrix(self, x: Tensor, y: Tensor) -> Tensor:
        """(B, B) scores ``T(x_i, y_j)``."""
        b = x.shape[0]
        rows = x.unsqueeze(1).expand(b, b, x.shape[1]).reshape(b * b, -1)
        cols = y.unsqueeze(0).expand(b, b, y.shape[1]).reshape(b * b, -1)
        return self([rows, cols]).reshape(b, b)


class JointCritic(Critic):
    """MLP on the concatenated variables: ``T(z1, ..., zk) = MLP([z1; ...; zk])``."""

    def __init__(
        self, dims: Sequence[int], *, hidden_dim: int = 128, num_layers: int = 2, spectral_norm: bool = False
    ) -> None:
        super().__init__()
        self.dims = tuple(dims)
        self.net = mlp(sum(self.dims), hidden_dim, num_layers, 1, spectral_norm=spectral_norm)

    def forward(self, views: Sequence[Tensor]) -> Tensor:
        """Scores (N,) of rows given as k tensors (N, D_i)."""
        return self.net(torch.cat(list(views), dim=-1)).squeeze(-1)


class SeparableCritic(Critic):
    """``T(z1, ..., zk) = sum_{i<j} <g_i(z_i), g_j(z_j)> / sqrt(E)`` with one MLP g_i per variable."""

    def __init__(
        self, dims: Sequence[int], *, hidden_dim: int = 128, num_layers: int = 2, spectral_norm: bool = False
    ) -> None:
        super().__init__()
        self.dims = tuple(dims)
        self.embed_dim = hidden_dim
        self.towers = nn.ModuleList(
            mlp(d, hidden_dim, num_layers, hidden_dim, spectral_norm=spectral_norm) for d in self.dims
        )

    def forward(self, views: Sequence[Tensor]) -> Tensor:
        """Scores (N,) of rows given as k tensors (N, D_i)."""
        embedded = [tower(v) for tower, v in zip(self.towers, views)]  # k x (N, E)
        score = torch.zeros_like(embedded[0][:, 0])
        for i in range(len(embedded)):
            for j in range(i + 1, len(embedded)):
                score = score + (embedded[i] * embedded[j]).sum(-1)
        return score / self.embed_dim**0.5

    def pair_matrix(self, x: Tensor, y: Tensor) -> Tensor:
        """(B, B) scores by one matrix product."""
        gx, gy = self.towers[0](x), self.towers[1](y)  # (B, E)
        return gx @ gy.T / self.embed_dim**0.5


CRITICS = {"joint": JointCritic, "separable": SeparableCritic}


def build_critic(
    kind: str, dims: Sequence[int], *, hidden_dim: int = 128, num_layers: int = 2, spectral_norm: bool = False
) -> Critic:
    """A critic by name ("joint" or "separable")."""
    if kind not in CRITICS:
        raise ValueError(f"unknown critic {kind!r}; use one of {tuple(CRITICS)}")
    return CRITICS[kind](dims, hidden_dim=hidden_dim, num_layers=num_layers, spectral_norm=spectral_norm)
