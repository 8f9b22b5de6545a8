"""Jensen-Shannon dependency in Deep InfoMax's form (Hjelm et al., ICLR 2019; Nowozin et al., f-GAN 2016).

The critic maximises ``V = E_P[-softplus(-T)] - E_Q[softplus(T)]`` whose supremum is ``2 JSD - log 4``;
the reported estimate is the implied lower bound of the Jensen-Shannon divergence between the joint and
the product of marginals, ``(V + log 4) / 2`` in nats (between 0 and log 2). It is not an MI value.

Example:
    >>> import torch
    >>> est = JensenShannon((2, 3), hidden_dim=8, num_layers=1)
    >>> out = est(torch.randn(16, 2), torch.randn(16, 3))
    >>> bool(out.estimate.isfinite()), JensenShannon.unit
    (True, 'nats (JS divergence)')
"""

from __future__ import annotations

from typing import Any

from torch import Tensor

from mifusion.estimators.base import ESTIMATORS, Bound, EstimatorEntry
from mifusion.estimators.critic_estimator import CriticEstimator
from mifusion.estimators.functional import js_divergence


class JensenShannon(CriticEstimator):
    """Lower bound of JSD(joint || product of marginals); arguments as :class:`CriticEstimator`."""

    bound = Bound.LOWER
    unit = "nats (JS divergence)"

    def estimate_from(self, joint: Tensor, marginal: Tensor) -> Tensor:
        return js_divergence(joint, marginal)


def _build(x_dim: int, y_dim: int, *more_dims: int, **options: Any) -> JensenShannon:
    return JensenShannon((x_dim, y_dim, *more_dims), **options)


ESTIMATORS.add(
    "js",
    EstimatorEntry(
        _build,
        Bound.LOWER,
        "js",
        "Jensen-Shannon divergence, Deep InfoMax form (not an MI value)",
        "Hjelm et al., Learning deep representations by mutual information estimation, ICLR 2019",
    ),
)
