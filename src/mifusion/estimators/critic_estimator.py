"""Shared machinery of the critic-based families (DV/MINE, NWJ, JS, SMILE, Wasserstein).

A :class:`CriticEstimator` standardises each variable (detached statistics), scores the joint rows and
product-of-marginals rows with its critic, and hands both score vectors to its family's pure bound.
It works for two variables (``forward(x, y)``: I(X; Y)) and for k >= 2 (``forward(z1, ..., zk)``: the
total correlation, joint against the product of all k marginals).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor

from mifusion.errors import ConfigError, ShapeError
from mifusion.estimators.base import MIEstimator, MIOutput
from mifusion.estimators.critics import CRITICS, STANDARDIZE_MODES, Standardizer, build_critic
from mifusion.estimators.functional import js_objective
from mifusion.estimators.negatives import NEGATIVES, negative_indices


def check_views(views: Sequence[Tensor], dims: Sequence[int], owner: str) -> None:
    """Raises ShapeError unless ``views`` are len(dims) tensors (B, D_i) with one B and matching D_i."""
    if len(views) != len(dims):
        raise ShapeError(f"{owner} was built for {len(dims)} variables but got {len(views)} tensors")
    batch = None
    for i, (view, dim) in enumerate(zip(views, dims)):
        if view.dim() != 2:
            raise ShapeError(
                f"{owner}: argument {i} has shape {tuple(view.shape)}; pass a (batch, features) tensor"
                " (pool or flatten sequences first)"
            )
        if view.shape[1] != dim:
            raise ShapeError(
                f"{owner}: argument {i} has {view.shape[1]} features but the estimator was built for {dim};"
                " rebuild it with the right dims"
            )
        if batch is not None and view.shape[0] != batch:
            raise ShapeError(f"{owner}: batch sizes differ ({batch} vs {view.shape[0]}); pass paired rows")
        batch = view.shape[0]


def skipped_output(views: Sequence[Tensor]) -> MIOutput:
    """A zero estimate still attached to the inputs' graph, for batches too small to estimate from."""
    zero = sum((v.sum() * 0.0 for v in views), torch.zeros((), device=views[0].device))
    assert isinstance(zero, Tensor)
    return MIOutput(zero, zero.clone(), {"skipped": torch.ones(())})


def check_choice(name: str, value: str, choices: Sequence[str]) -> None:
    """Raises ConfigError when ``value`` is not one of ``choices``."""
    if value not in choices:
        raise ConfigError(f"unknown {name} {value!r}; choose one of: {', '.join(choices)}")


@dataclass
class CriticScores:
    """Critic scores of one batch.

    Attributes:
        joint: (B,) scores of the joint rows.
        marginal: (M,) scores of product-of-marginals rows.
        views: the standardised variables, k x (B, D_i).
        index: (k, M) rows of each variable in the negatives.
    """

    joint: Tensor
    marginal: Tensor
    views: list[Tensor]
    index: Tensor


TRAIN_OBJECTIVES = ("own", "js")
"""What a DV/MINE/NWJ critic is trained on: its family's own bound, or the Jensen-Shannon objective."""


def js_trained_loss(scores: CriticScores) -> Tensor:
    """The critic's loss when ``train_objective="js"``: minus Deep InfoMax's Jensen-Shannon objective.

    The estimate stays the family's own bound evaluated on this critic (Poole et al. 2019, section 3.3;
    Hjelm et al. 2019): only the training signal changes. The JS objective's gradient is bounded per
    sample (softplus), so rare heavy-tailed marginal rows cannot dominate it as they dominate
    ``E_Q[exp T]``.
    """
    return -js_objective(scores.joint, scores.marginal)


CRITIC_STANDARDIZE = STANDARDIZE_MODES
"""Standardisations a critic estimator accepts: running statistics and the stateless ones."""


class CriticEstimator(MIEstimator):
    """Base class: a critic on standardised inputs, scored on joint and product-of-marginals rows.

    Args:
        dims: feature sizes of the k >= 2 variables.
        hidden_dim: width of the critic's hidden layers.
        num_layers: number of hidden layers.
        critic: "joint" (concatenation MLP) or "separable" (inner products of per-variable embeddings).
        negatives: "derangement" (B negatives) or "all_pairs" (B (B - 1) negatives).
        standardize: "running" (default: running median/MAD that re-anchor on a rescaled input, then
            asinh; see :mod:`mifusion.estimators.critics`), "robust" (the batch's own median/MAD, then
            asinh), "batch" or "none".
        spectral_norm: spectral normalisation on every critic layer.
    """

    family: ClassVar[str] = "critic"

    def __init__(
        self,
        dims: Sequence[int],
        *,
        hidden_dim: int = 128,
        num_layers: int = 2,
        critic: str = "joint",
        negatives: str = "derangement",
        standardize: str = "running",
        spectral_norm: bool = False,
    ) -> None:
        super().__init__()
        if len(dims) < 2:
            raise ConfigError(f"{type(self).__name__} needs at least 2 variables, got dims={tuple(dims)}")
        check_choice("critic", critic, tuple(CRITICS))
        check_choice("negatives", negatives, NEGATIVES)
        check_choice("standardize", standardize, CRITIC_STANDARDIZE)
        self.dims = tuple(int(d) for d in dims)
        self.negatives = negatives
        self.standardize = standardize
        self.standardizer = Standardizer(self.dims, standardize)
        self.critic = build_critic(
            critic, self.dims, hidden_dim=hidden_dim, num_layers=num_layers, spectral_norm=spectral_norm
        )

    def prepare(self, views: Sequence[Tensor]) -> list[Tensor]:
        """Checks shapes and standardises each variable."""
        check_views(views, self.dims, type(self).__name__)
        return self.standardizer(views)

    def scores(self, views: Sequence[Tensor]) -> CriticScores:
        """Critic scores on the joint rows and on product-of-marginals rows (B >= 2)."""
        std = self.prepare(views)
        batch = std[0].shape[0]
        index = negative_indices(batch, len(std), self.negatives, device=std[0].device)
        if len(std) == 2 and self.negatives == "all_pairs":
            matrix = self.critic.pair_matrix(std[0], std[1])  # (B, B)
            off = ~torch.eye(batch, dtype=torch.bool, device=matrix.device)
            return CriticScores(matrix.diagonal(), matrix[off], std, index)
        joint = self.critic(std)
        marginal = self.critic([v[i] for v, i in zip(std, index)])
        return CriticScores(joint, marginal, std, index)

    def pointwise(self, *views: Tensor) -> Tensor:
        """(B,) critic score of each sample's own joint row (ranks samples by dependency)."""
        return self.critic(self.prepare(views))

    def estimate_from(self, joint: Tensor, marginal: Tensor) -> Tensor:  # pragma: no cover - interface
        """The family's estimate from joint and marginal scores."""
        raise NotImplementedError

    def critic_loss(self, scores: CriticScores, estimate: Tensor) -> Tensor:
        """What the critic minimises (default: the negative estimate)."""
        return -estimate

    def critic_objective(self, scores: CriticScores, estimate: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        """The critic's loss and the detached diagnostics computing it produced (default: none)."""
        return self.critic_loss(scores, estimate), {}

    def diagnostics(self, scores: CriticScores) -> dict[str, Tensor]:
        """Detached scalars worth logging."""
        return {
            "joint_score_mean": scores.joint.detach().mean(),
            "marginal_score_mean": scores.marginal.detach().mean(),
        }

    def forward(self, x: Tensor, y: Tensor, *more: Tensor) -> MIOutput:
        """Estimate from paired rows.

        Args:
            x: (B, D_1).
            y: (B, D_2).
            *more: further (B, D_i) variables for the total correlation.
        """
        views = (x, y, *more)
        check_views(views, self.dims, type(self).__name__)
        if x.shape[0] < 2:
            return skipped_output(views)
        scores = self.scores(views)
        estimate = self.estimate_from(scores.joint, scores.marginal)
        loss, extra = self.critic_objective(scores, estimate)
        return MIOutput(estimate, loss, {**self.diagnostics(scores), **extra})


def params_need_grad(module: torch.nn.Module) -> bool:
    """True when autograd would compute gradients for any parameter of ``module`` right now."""
    return torch.is_grad_enabled() and any(p.requires_grad for p in module.parameters())
