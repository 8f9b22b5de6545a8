"""A dependency penalty for any fusion model (Colombo et al., "Improving Multimodal Fusion via Mutual
Dependency Maximisation", EMNLP 2021).

``DependencyPenalty`` measures the dependency between per-modality representations with any registered
estimator and returns the term to add to the task loss (``-weight * estimate``: the dependency is
maximised for ``weight > 0``; pass a negative weight with ``"club"`` to minimise it) and the critic's own
loss. It runs the estimator once per call (:func:`~mifusion.estimators.split_gradients.split_gradients`)
and routes the two gradients apart: ``term`` and ``estimate`` reach only the encoders (as if the critic
were frozen), ``critic_loss`` only the critic (as if the representations were detached; it includes the
gradient penalty or MINE's correction). Both are computed on the same standardised inputs and negatives.
So one call pattern is right for every family:

    out = penalty(reps)
    (task + out.term + out.critic_loss).backward()   # one optimiser over model and critic
    # or, with a separate critic optimiser: model step on task + out.term, critic step on out.critic_loss

Example:
    >>> import torch
    >>> penalty = DependencyPenalty("js", {"text": 8, "audio": 4, "vision": 4}, hidden_dim=16)
    >>> reps = {"text": torch.randn(6, 8), "audio": torch.randn(6, 4), "vision": torch.randn(6, 4)}
    >>> out = penalty(reps)
    >>> out.term.shape, bool(out.critic_loss.isfinite())
    (torch.Size([]), True)
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from mifusion.errors import ConfigError, ShapeError
from mifusion.estimators.base import ESTIMATORS, EstimatorModule, MIEstimator
from mifusion.estimators.split_gradients import split_gradients

SCOPES = ("total_correlation", "pairwise")
MODALITY_ORDER = ("text", "audio", "vision")


@dataclass
class PenaltyOutput:
    """Result of one :class:`DependencyPenalty` call.

    Attributes:
        term: scalar to add to the task loss (sign applied: ``-weight * estimate``).
        estimate: scalar estimate in the estimator's unit (sum over pairs for the pairwise scope),
            differentiable with respect to the representations.
        critic_loss: scalar the critic minimises; its gradient reaches only the critic's parameters.
        per_pair: "text_audio"-style names -> estimate, one per term of the scope.
        diagnostics: detached scalars worth logging.
    """

    term: Tensor
    estimate: Tensor
    critic_loss: Tensor
    per_pair: dict[str, Tensor] = field(default_factory=dict)
    diagnostics: dict[str, Tensor] = field(default_factory=dict)


@contextmanager
def frozen(module: nn.Module) -> Iterator[None]:
    """Temporarily stops autograd from computing gradients for ``module``'s parameters (MMIM's likelihoods,
    whose outputs are not an ``MIOutput``; a penalty's estimator uses ``split_gradients`` instead)."""
    flags = [(p, p.requires_grad) for p in module.parameters()]
    try:
        for p, _ in flags:
            p.requires_grad_(False)
        yield
    finally:
        for p, flag in flags:
            p.requires_grad_(flag)


def ordered_modalities(names: Mapping[str, Any]) -> tuple[str, ...]:
    """text, audio, vision first (in that order), then any other keys in their given order."""
    known = [m for m in MODALITY_ORDER if m in names]
    return (*known, *(m for m in names if m not in MODALITY_ORDER))


class DependencyPenalty(EstimatorModule):
    """Dependency between modality representations as a weighted loss term.

    Args:
        estimator: a registered estimator family ("js", "dv", "mine", "nwj", "smile", "wasserstein_gp",
            "wasserstein_sn", "infonce", "ba", "club").
        dims: modality -> feature size of its (B, D) representation (two or more modalities).
        scope: "total_correlation" (joint against the product of all marginals; equals the pairwise MI
            for two modalities) or "pairwise" (sum over every pair).
        weight: the term is ``-weight * estimate``.
        hidden_dim: width of the critic's hidden layers.
        num_layers: number of hidden layers.
        critic: "joint" or "separable".
        negatives: "derangement" or "all_pairs".
        **options: family options (``tau``, ``ema``, ``penalty_weight``, ``standardize``, ...).
    """

    def __init__(
        self,
        estimator: str,
        dims: Mapping[str, int],
        *,
        scope: str = "total_correlation",
        weight: float = 0.1,
        hidden_dim: int = 128,
        num_layers: int = 2,
        critic: str = "joint",
        negatives: str = "derangement",
        **options: Any,
    ) -> None:
        super().__init__()
        if scope not in SCOPES:
            raise ConfigError(f"unknown penalty scope {scope!r}; choose one of: {', '.join(SCOPES)}")
        if len(dims) < 2:
            raise ConfigError(f"a dependency penalty needs at least two modalities, got {sorted(dims)}")
        entry = ESTIMATORS.get(estimator)
        self.estimator_name = estimator
        self.dims = {m: int(dims[m]) for m in ordered_modalities(dims)}
        self.scope = scope
        self.weight = weight
        modalities = tuple(self.dims)
        self.groups: list[tuple[str, ...]]
        if scope == "pairwise" or len(modalities) == 2:
            self.groups = list(itertools.combinations(modalities, 2))
        else:
            self.groups = [modalities]
        built = {}
        for group in self.groups:
            sizes = [self.dims[m] for m in group]
            built["_".join(group)] = entry.builder(
                *sizes,
                hidden_dim=hidden_dim,
                num_layers=num_layers,
                critic=critic,
                negatives=negatives,
                **options,
            )
        self.estimators = nn.ModuleDict(built)
        first = next(iter(built.values()))
        self.bound = first.bound
        self.unit = first.unit

    def _check(self, reps: Mapping[str, Tensor], available: Mapping[str, Tensor] | None) -> int:
        unknown = sorted(set(reps) - set(self.dims))
        missing = [m for m in self.dims if m not in reps]
        if unknown or missing:
            raise ShapeError(
                f"reps has keys {sorted(reps)} but the penalty was built for {list(self.dims)}"
                f" (unknown: {unknown}, missing: {missing}); pass exactly those keys"
            )
        batch = None
        for m, size in self.dims.items():
            rep = reps[m]
            if rep.dim() != 2 or rep.shape[1] != size:
                raise ShapeError(
                    f'reps["{m}"] has shape {tuple(rep.shape)}; expected (batch, {size}) as built from dims'
                    f'["{m}"] (pool sequences first, or rebuild the penalty with the right size)'
                )
            if batch is not None and rep.shape[0] != batch:
                raise ShapeError(f'reps["{m}"] has batch size {rep.shape[0]} but others have {batch}')
            batch = rep.shape[0]
        assert batch is not None
        for m, mask in (available or {}).items():
            if m not in self.dims:
                raise ShapeError(f"available has key {m!r}, which is not one of {list(self.dims)}")
            if mask.shape != (batch,) or mask.dtype != torch.bool:
                raise ShapeError(
                    f'available["{m}"] has shape {tuple(mask.shape)} and dtype {mask.dtype};'
                    f" pass a ({batch},) bool tensor, True where the modality is present"
                )
        return batch

    def _rows(
        self, group: tuple[str, ...], batch: int, available: Mapping[str, Tensor] | None
    ) -> Tensor | None:
        if not available:
            return None
        keep = torch.ones(batch, dtype=torch.bool)
        for m in group:
            if m in available:
                keep = keep & available[m].cpu()
        return None if bool(keep.all()) else keep.nonzero().squeeze(-1)

    def forward(
        self, reps: Mapping[str, Tensor], available: Mapping[str, Tensor] | None = None
    ) -> PenaltyOutput:
        """Penalty on modality -> (B, D) representations; ``available``: modality -> (B,) bool mask."""
        batch = self._check(reps, available)
        estimates: dict[str, Tensor] = {}
        critic_losses: list[Tensor] = []
        diagnostics: dict[str, Tensor] = {}
        for group in self.groups:
            name = "_".join(group)
            estimator = self.estimators[name]
            assert isinstance(estimator, MIEstimator)
            rows = self._rows(group, batch, available)
            views = [reps[m] if rows is None else reps[m][rows.to(reps[m].device)] for m in group]
            out = split_gradients(estimator, views)
            estimates[name] = out.estimate
            critic_losses.append(out.loss)
            diagnostics[f"{name}/estimate"] = out.estimate.detach()
            diagnostics.update({f"{name}/{k}": v for k, v in out.diagnostics.items()})
        estimate = torch.stack(list(estimates.values())).sum()
        critic_loss = torch.stack(critic_losses).sum()
        return PenaltyOutput(-self.weight * estimate, estimate, critic_loss, estimates, diagnostics)

    def pointwise_scores(self, reps: Mapping[str, Tensor]) -> Tensor:
        """(B,) statistics-network score of each sample's own joint (summed over pairs for "pairwise").

        Higher means the sample's modalities are more consistent with each other (the score approximates
        the pointwise log density ratio of joint to product of marginals, up to a constant).
        """
        self._check(reps, None)
        total: Tensor | None = None
        for group in self.groups:
            estimator = self.estimators["_".join(group)]
            score = estimator.pointwise(*[reps[m] for m in group])  # type: ignore[operator]
            total = score if total is None else total + score
        assert total is not None
        return total
