"""Critics (statistics networks) and the input standardisation they see.

A critic scores aligned rows of k variables: ``critic([z1, ..., zk]) -> (N,)``. The joint critic is an
MLP on the concatenation (MINE, Belghazi et al., ICML 2018); the separable critic embeds each variable
apart and scores a row by the sum of pairwise inner products of the embeddings, so a (B, B) score matrix
of all pairs costs one matrix product (Oord et al., CPC, 2018).

Standardisation (``standardize=``), with statistics that carry no gradient, so an encoder cannot change
what the critic sees by rescaling its outputs:

- ``"running"`` (default of the critic estimators and InfoNCE): ``c asinh(u / c)`` with
  ``u = (z - centre) / scale`` per feature and ``c = 3``, where centre and scale are *running* median and
  1.4826 MAD (:class:`RunningAffine`): one fixed map for every sample of a batch and every batch, which
  re-anchors to the batch at once when the batch's median/MAD leave a band around the running values
  (an encoder rescaling its outputs is followed in one step). Median and MAD survive heavy tails (Cauchy);
  the squashing is nearly the identity within three robust standard deviations and logarithmic beyond,
  so the critic never sees huge values. Both maps are invertible per variable: the MI is unchanged.
- ``"robust"``: the same squash with the *batch's own* median/MAD (stateless, follows any rescaling
  exactly, but its per-batch shift and scale noise blurs sharp density ratios).
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
"""Stateless standardisations (:func:`standardize`)."""
STANDARDIZE_MODES = ("running", *STANDARDIZE)
"""Every standardisation a :class:`Standardizer` accepts."""
MAD_TO_STD = 1.4826
"""Scale that makes the median absolute deviation a consistent estimate of a Gaussian's std."""
SCALE_FLOOR = 1e-6
SQUASH_SCALE = 3.0
"""``c asinh(z / c)``: nearly the identity within c robust standard deviations, logarithmic beyond."""
RUNNING_MOMENTUM = 0.01
"""Weight of the current batch in running median/MAD statistics (the first batch initialises them)."""
REANCHOR_RATIO = 3.0
"""Running statistics jump to the batch's when its scale differs by more than this factor (either way)
or its centre by more than this many running scales: a rescaled input is followed at once."""


def standardize(z: Tensor, mode: str = "robust") -> Tensor:
    """Per-feature standardisation of (B, D) with detached batch statistics (see module docstring)."""
    if mode == "none":
        return z
    if mode == "robust":
        center = z.detach().median(dim=0, keepdim=True).values  # (1, D)
        mad = (z.detach() - center).abs().median(dim=0, keepdim=True).values
        scale = torch.clamp(MAD_TO_STD * mad, min=SCALE_FLOOR)
        return squash((z - center) / scale)
    if mode == "batch":
        center = z.detach().mean(dim=0, keepdim=True)
        scale = torch.clamp(z.detach().std(dim=0, unbiased=False, keepdim=True), min=SCALE_FLOOR)
        return (z - center) / scale
    raise ValueError(f"unknown standardize mode {mode!r}; use one of {STANDARDIZE}")


def squash(u: Tensor) -> Tensor:
    """``c asinh(u / c)`` with ``c = SQUASH_SCALE``: identity near 0, logarithmic in the tails."""
    return SQUASH_SCALE * torch.asinh(u / SQUASH_SCALE)


class RunningAffine(nn.Module):
    """Detached per-feature ``(y - centre) / scale`` with running median / 1.4826 MAD statistics.

    Training mode: the batch statistics update an exponential moving average (``momentum`` per batch; the
    first batch sets them), and the updated running values are used. A feature whose batch scale differs
    from the running one by more than ``reanchor`` times (either way), or whose batch median lies more than
    ``reanchor`` running scales away, takes the batch's values at once (``reanchor=None``: never). Eval
    mode: the running values as they are (the batch's own until a training batch has been seen). No
    statistic carries a gradient.

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

    def __init__(
        self, dim: int, momentum: float = RUNNING_MOMENTUM, reanchor: float | None = REANCHOR_RATIO
    ) -> None:
        super().__init__()
        self.momentum = momentum
        self.reanchor = reanchor
        self.register_buffer("center", torch.zeros(dim))
        self.register_buffer("scale", torch.ones(dim))
        self.register_buffer("initialized", torch.tensor(False))

    def forward(self, y: Tensor) -> tuple[Tensor, Tensor]:
        """(B, D) -> standardised (B, D) and the sum of log scales (the log-Jacobian to subtract)."""
        if self.training or not bool(self.initialized):
            center, scale = _median_mad(y.detach())
            if self.training:
                self._update(center, scale)
                center, scale = self.center.clone(), self.scale.clone()
        else:  # copies: a later in-place update must not touch a graph that used these values
            center, scale = self.center.clone(), self.scale.clone()
        return (y - center) / scale, torch.log(scale).sum()

    @torch.no_grad()
    def _update(self, center: Tensor, scale: Tensor) -> None:
        """EMA step towards the batch statistics; re-anchors features that left the band."""
        if not bool(self.initialized):
            weight = torch.ones_like(scale)
        else:
            weight = torch.full_like(scale, self.momentum)
            if self.reanchor is not None:
                ratio = scale / self.scale
                jump = (ratio > self.reanchor) | (ratio < 1.0 / self.reanchor)
                jump |= (center - self.center).abs() > self.reanchor * self.scale
                weight = torch.where(jump, torch.ones_like(weight), weight)
        self.center.lerp_(center, weight)
        self.scale.lerp_(scale, weight)
        self.initialized.fill_(True)


class Standardizer(nn.Module):
    """Standardises each of k variables by ``mode`` (see the module docstring).

    Example:
        >>> import torch
        >>> std = Standardizer((2, 1), "running")
        >>> [v.shape for v in std([torch.randn(8, 2), torch.randn(8, 1)])]
        [torch.Size([8, 2]), torch.Size([8, 1])]
    """

    def __init__(self, dims: Sequence[int], mode: str = "running") -> None:
        super().__init__()
        if mode not in STANDARDIZE_MODES:
            raise ValueError(f"unknown standardize mode {mode!r}; use one of {STANDARDIZE_MODES}")
        self.mode = mode
        self.running = nn.ModuleList(RunningAffine(d) for d in dims) if mode == "running" else None

    def forward(self, views: Sequence[Tensor]) -> list[Tensor]:
        """k tensors (B, D_i) -> k standardised tensors (B, D_i)."""
        if self.running is None:
            return [standardize(v, self.mode) for v in views]
        return [squash(r(v)[0]) for r, v in zip(self.running, views)]


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
