"""SMILE (Song & Ermon, "Understanding the Limitations of Variational MI Estimators", ICLR 2020).

The critic is trained with the Jensen-Shannon objective; the estimate is DV with ``exp T`` on the
marginal clipped to ``[e^-tau, e^tau]`` (tau = inf is DV): a bias/variance knob. Because the critic's
loss is not the negative estimate, the estimate is not a strict lower bound.

Example:
    >>> import torch
    >>> est = SMILE((2, 3), hidden_dim=8, num_layers=1, tau=5.0)
    >>> bool(est(torch.randn(16, 2), torch.randn(16, 3)).estimate.isfinite())
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from torch import Tensor

from mifusion.estimators.base import ESTIMATORS, Bound, EstimatorEntry
from mifusion.estimators.critic_estimator import CriticEstimator, CriticScores
from mifusion.estimators.functional import js_objective, smile_bound


class SMILE(CriticEstimator):
    """SMILE estimate of I(X; Y).

    Args:
        dims: feature sizes of the variables.
        tau: clipping of the marginal scores (default 5, as in the paper's experiments).
        **kwargs: see :class:`CriticEstimator`.
    """

    bound = Bound.NEITHER

    def __init__(self, dims: Sequence[int], *, tau: float = 5.0, **kwargs: Any) -> None:
        super().__init__(dims, **kwargs)
        self.tau = tau

    def estimate_from(self, joint: Tensor, marginal: Tensor) -> Tensor:
        return smile_bound(joint, marginal, self.tau)

    def critic_loss(self, scores: CriticScores, estimate: Tensor) -> Tensor:
        return -js_objective(scores.joint, scores.marginal)


def _build(x_dim: int, y_dim: int, *more_dims: int, **options: Any) -> SMILE:
    return SMILE((x_dim, y_dim, *more_dims), **options)


ESTIMATORS.add(
    "smile",
    EstimatorEntry(
        _build,
        Bound.NEITHER,
        "mi",
        "SMILE: JS-trained critic, clipped DV estimate (tau option)",
        "Song & Ermon, Understanding the Limitations of Variational MI Estimators, ICLR 2020",
    ),
)
