"""Wasserstein dependency measure (Ozair et al., "Wasserstein Dependency Measure for Representation
Learning", NeurIPS 2019; gradient penalty: Gulrajani et al., "Improved Training of Wasserstein GANs", 2017).

``W = sup_{T 1-Lipschitz} E_P[T] - E_Q[T]`` between the joint and the product of marginals. Lipschitz
continuity is enforced either by a gradient penalty ``gamma E[(||grad T(x_hat)|| - 1)^2]`` on random
interpolates of joint and marginal rows (in the critic's loss only) or by spectral normalisation of every
critic layer. W is scale-dependent, so the critic sees standardised inputs (detached statistics): an
encoder cannot raise W by growing its outputs. Not an MI value; the unit is the standardised input space.

Example:
    >>> import torch
    >>> est = Wasserstein((2, 3), hidden_dim=8, num_layers=1, lipschitz="gradient_penalty")
    >>> out = est(torch.randn(16, 2), torch.randn(16, 3))
    >>> bool(out.estimate.isfinite()), "gradient_penalty" in out.diagnostics
    (True, True)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from mifusion.estimators.base import ESTIMATORS, Bound, EstimatorEntry
from mifusion.estimators.critic_estimator import CriticEstimator, CriticScores, check_choice, params_need_grad
from mifusion.estimators.functional import wasserstein_bound
from mifusion.estimators.negatives import negative_indices

LIPSCHITZ = ("gradient_penalty", "spectral_norm")


class Wasserstein(CriticEstimator):
    """Wasserstein dependency between the joint and the product of marginals.

    Args:
        dims: feature sizes of the variables.
        lipschitz: "gradient_penalty" or "spectral_norm".
        penalty_weight: gamma of the gradient penalty (10, as in WGAN-GP).
        **kwargs: see :class:`CriticEstimator`.
    """

    bound = Bound.LOWER
    unit = "wasserstein (standardised inputs)"

    def __init__(
        self,
        dims: Sequence[int],
        *,
        lipschitz: str = "gradient_penalty",
        penalty_weight: float = 10.0,
        **kwargs: Any,
    ) -> None:
        check_choice("lipschitz", lipschitz, LIPSCHITZ)
        kwargs["spectral_norm"] = lipschitz == "spectral_norm"
        super().__init__(dims, **kwargs)
        self.lipschitz = lipschitz
        self.penalty_weight = penalty_weight

    def estimate_from(self, joint: Tensor, marginal: Tensor) -> Tensor:
        return wasserstein_bound(joint, marginal)

    def critic_objective(self, scores: CriticScores, estimate: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        """``-estimate + penalty_weight * gradient penalty`` (GP variant, critic trainable), and the penalty."""
        if self.lipschitz != "gradient_penalty" or not params_need_grad(self.critic):
            return -estimate, {}
        penalty = self.gradient_penalty(scores)
        return -estimate + self.penalty_weight * penalty, {"gradient_penalty": penalty.detach()}

    def gradient_penalty(self, scores: CriticScores) -> Tensor:
        """``E[(||grad T(x_hat)|| - 1)^2]`` on interpolates of joint rows and negatives (detached)."""
        views = [v.detach() for v in scores.views]
        count = scores.index.shape[1]
        rows = torch.randint(0, views[0].shape[0], (count,), device=views[0].device)
        joint = [v[rows] for v in views] if count != views[0].shape[0] else views
        marginal = [v[i] for v, i in zip(views, scores.index)]
        mix = torch.rand(count, 1, device=views[0].device)
        interpolates = [(mix * a + (1 - mix) * b).requires_grad_(True) for a, b in zip(joint, marginal)]
        grads = torch.autograd.grad(self.critic(interpolates).sum(), interpolates, create_graph=True)
        norm = torch.cat(grads, dim=-1).norm(dim=-1)  # (M,)
        return (norm - 1.0).pow(2).mean()


def critic_gradient_norms(estimator: Wasserstein, *views: Tensor) -> dict[str, Tensor]:
    """Mean ``||grad T||`` on joint rows, derangement negatives and their interpolates.

    Args:
        estimator: a Wasserstein estimator.
        *views: (B, D_i) paired rows, B >= 2.

    Returns:
        "joint", "marginal" and "interpolate" mean gradient norms (near or below 1 when Lipschitz).
    """
    std = [v.detach() for v in estimator.prepare(views)]
    index = negative_indices(std[0].shape[0], len(std), "derangement", device=std[0].device)
    marginal = [v[i] for v, i in zip(std, index)]
    mix = torch.rand(std[0].shape[0], 1, device=std[0].device)
    sets = {
        "joint": std,
        "marginal": marginal,
        "interpolate": [mix * a + (1 - mix) * b for a, b in zip(std, marginal)],
    }
    out = {}
    with torch.enable_grad():
        for name, rows in sets.items():
            inputs = [r.clone().requires_grad_(True) for r in rows]
            grads = torch.autograd.grad(estimator.critic(inputs).sum(), inputs)
            out[name] = torch.cat(grads, dim=-1).norm(dim=-1).mean().detach()
    return out


def _build_gp(x_dim: int, y_dim: int, *more_dims: int, **options: Any) -> Wasserstein:
    return Wasserstein((x_dim, y_dim, *more_dims), lipschitz="gradient_penalty", **options)


def _build_sn(x_dim: int, y_dim: int, *more_dims: int, **options: Any) -> Wasserstein:
    return Wasserstein((x_dim, y_dim, *more_dims), lipschitz="spectral_norm", **options)


_REFERENCE = "Ozair et al., Wasserstein Dependency Measure for Representation Learning, NeurIPS 2019"
ESTIMATORS.add(
    "wasserstein_gp",
    EstimatorEntry(
        _build_gp, Bound.LOWER, "wasserstein", "Wasserstein dependency, gradient penalty", _REFERENCE
    ),
)
ESTIMATORS.add(
    "wasserstein_sn",
    EstimatorEntry(
        _build_sn, Bound.LOWER, "wasserstein", "Wasserstein dependency, spectral normalisation", _REFERENCE
    ),
)
