"""A statistics network fitted after training on a frozen model's per-modality representations.

``mifusion explain`` scores how consistent a sample's modalities are. A penalty's own critic was trained
alongside encoders that kept changing under it (one critic step per batch), so it lags the final
encoders; and a run without a penalty has no critic at all. This module fits a dedicated one on the
frozen model's training-split representations: a logistic (Jensen-Shannon) classifier of intact rows
against rows with one modality taken from another random sample, i.e. the density-ratio trick of
Nguyen, Wainwright and Jordan (IEEE Trans. Inf. Theory, 2010) as used by Deep InfoMax's JS estimator
(Hjelm et al., ICLR 2019). Its logit estimates ``log p(joint) / p(one-modality-swapped)``: higher means
the sample's modalities look jointly drawn. Inputs are standardised with the training split's mean and
standard deviation (fixed buffers, so a test sample's score does not depend on its batch).

Example:
    >>> import torch
    >>> g = torch.Generator().manual_seed(0)
    >>> z = torch.randn(400, 2, generator=g)
    >>> reps = {"audio": z + 0.1 * torch.randn(400, 2, generator=g), "vision": z}
    >>> net = fit_statistics_network(reps, FitSettings(steps=300, hidden_dim=16))
    >>> swapped = {"audio": reps["audio"].roll(1, 0), "vision": reps["vision"]}
    >>> bool(net.score(reps).mean() > net.score(swapped).mean() + 1)
    True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from mifusion.errors import DataError

STD_FLOOR = 1e-6


@dataclass(frozen=True)
class FitSettings:
    """How the dedicated statistics network is fitted (fixed defaults, documented in docs/training.md).

    Attributes:
        hidden_dim: width of the two hidden layers.
        steps: optimiser steps.
        batch_size: intact rows per step (each also gives one swapped row per modality).
        lr: Adam learning rate.
        weight_decay: Adam weight decay.
        seed: seed of the initialisation and of the sampled rows and swaps.
    """

    hidden_dim: int = 64
    steps: int = 1500
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 1e-4
    seed: int = 0


DEFAULT_FIT = FitSettings()


class StatisticsNetwork(nn.Module):
    """An MLP on the concatenated, standardised representations: modality -> (B, D_m) gives (B,).

    Args:
        dims: modality -> representation size (two or more modalities).
        hidden_dim: width of the two hidden layers.
    """

    center: Tensor
    scale: Tensor

    def __init__(self, dims: Mapping[str, int], hidden_dim: int) -> None:
        super().__init__()
        self.modalities = tuple(dims)
        total = sum(dims.values())
        self.register_buffer("center", torch.zeros(total))
        self.register_buffer("scale", torch.ones(total))
        self.mlp = nn.Sequential(
            nn.Linear(total, hidden_dim),
            nn.ReLU(),
            nn.Linear(hidden_dim, hidden_dim),
            nn.ReLU(),
            nn.Linear(hidden_dim, 1),
        )

    def concat(self, reps: Mapping[str, Tensor]) -> Tensor:
        """(B, sum D_m) raw concatenation in the network's modality order."""
        return torch.cat([reps[m].float() for m in self.modalities], dim=-1)

    def forward(self, joined: Tensor) -> Tensor:
        """(B, sum D_m) raw concatenation -> (B,) logit."""
        return self.mlp((joined - self.center) / self.scale).squeeze(-1)

    @torch.no_grad()
    def score(self, reps: Mapping[str, Tensor]) -> Tensor:
        """(B,) consistency score of each row (higher = modalities look jointly drawn)."""
        return self(self.concat(reps))


def swapped_rows(joined: Tensor, sizes: list[int], index: Tensor, generator: torch.Generator) -> Tensor:
    """Rows ``index`` of ``joined`` once per modality, that modality taken from another random row.

    Returns:
        (len(sizes) * len(index), sum sizes): block k has modality k swapped.
    """
    n = joined.shape[0]
    blocks = []
    start = 0
    for size in sizes:
        other = (index + torch.randint(1, n, index.shape, generator=generator)) % n  # never the row itself
        block = joined[index].clone()
        block[:, start : start + size] = joined[other, start : start + size]
        blocks.append(block)
        start += size
    return torch.cat(blocks)


def fit_statistics_network(
    reps: Mapping[str, Tensor], settings: FitSettings = DEFAULT_FIT
) -> StatisticsNetwork:
    """Fits a :class:`StatisticsNetwork` on training rows ``reps`` (modality -> (N, D_m), N >= 2).

    Loss per step: ``softplus(-T(intact))`` averaged, plus ``softplus(T(swapped))`` averaged over every
    one-modality swap (logistic loss, balanced between intact and swapped rows).
    """
    if len(reps) < 2:
        raise DataError(f"a statistics network needs two or more modalities, got {sorted(reps)}")
    dims = {m: int(v.shape[1]) for m, v in reps.items()}
    generator = torch.Generator().manual_seed(settings.seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(settings.seed)
        net = StatisticsNetwork(dims, settings.hidden_dim)
    joined = net.concat({m: v.detach().cpu() for m, v in reps.items()})  # (N, sum D)
    n = joined.shape[0]
    if n < 2:
        raise DataError(f"a statistics network needs at least 2 training samples, got {n}")
    net.center.copy_(joined.mean(0))
    net.scale.copy_(joined.std(0, unbiased=False).clamp(min=STD_FLOOR))
    optimizer = torch.optim.Adam(net.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    sizes = list(dims.values())
    net.train()
    for _ in range(settings.steps):
        index = torch.randint(0, n, (min(settings.batch_size, n),), generator=generator)
        intact = net(joined[index])
        swapped = net(swapped_rows(joined, sizes, index, generator))
        loss = F.softplus(-intact).mean() + F.softplus(swapped).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return net.eval()
