"""NWJ / MINE-f bound (Nguyen, Wainwright, Jordan, IEEE Trans. Inf. Theory 2010; Poole et al. 2019).

``I(X; Y) >= E_P[T] - e^-1 E_Q[exp T]``: unbiased minibatch gradients, higher variance than DV.

Example:
    >>> import torch
    >>> est = NWJ((2, 3), hidden_dim=8, num_layers=1)
    >>> bool(est(torch.randn(16, 2), torch.randn(16, 3)).estimate.isfinite())
    True
"""

from __future__ import annotations

from typing import Any

from torch import Tensor

from mifusion.estimators.base import ESTIMATORS, Bound, EstimatorEntry
from mifusion.estimators.critic_estimator import CriticEstimator
from mifusion.estimators.functional import nwj_bound


class NWJ(CriticEstimator):
    """NWJ lower bound of I(X; Y) (or of a total correlation); arguments as :class:`CriticEstimator`."""

    bound = Bound.LOWER

    def estimate_from(self, joint: Tensor, marginal: Tensor) -> Tensor:
        return nwj_bound(joint, marginal)


def _build(x_dim: int, y_dim: int, *more_dims: int, **options: Any) -> NWJ:
    return NWJ((x_dim, y_dim, *more_dims), **options)


ESTIMATORS.add(
    "nwj",
    EstimatorEntry(
        _build,
        Bound.LOWER,
        "mi",
        "NWJ (MINE-f) bound: unbiased gradient, high variance",
        "Nguyen, Wainwright & Jordan, IEEE Trans. Inf. Theory 2010",
    ),
)
