"""NWJ / MINE-f bound (Nguyen, Wainwright, Jordan, IEEE Trans. Inf. Theory 2010; Poole et al. 2019).

``I(X; Y) >= E_P[T] - e^-1 E_Q[exp T]``: unbiased minibatch gradients, higher variance than DV. With
``train_objective="js"`` the critic is trained on the Jensen-Shannon objective (Poole et al. 2019;
Hjelm et al. 2019) and the estimate is the NWJ bound of that critic shifted by +1, ``T + 1``: the JS
objective's optimal critic is ``log p(x,y)/(p(x)p(y))`` while NWJ's is that plus 1, and the NWJ bound holds
for every critic, so the shifted read-out is still a lower bound (and 0 for a constant critic).

Example:
    >>> import torch
    >>> est = NWJ((2, 3), hidden_dim=8, num_layers=1)
    >>> bool(est(torch.randn(16, 2), torch.randn(16, 3)).estimate.isfinite())
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from torch import Tensor

from mifusion.estimators.base import ESTIMATORS, Bound, EstimatorEntry
from mifusion.estimators.critic_estimator import (
    TRAIN_OBJECTIVES,
    CriticEstimator,
    CriticScores,
    check_choice,
    js_trained_loss,
)
from mifusion.estimators.functional import nwj_bound

JS_READOUT_SHIFT = 1.0
"""NWJ read-out of a JS-trained critic T: the bound at T + 1 (NWJ's optimum is 1 + the log density ratio)."""


class NWJ(CriticEstimator):
    """NWJ lower bound of I(X; Y) (or of a total correlation).

    Args:
        dims: feature sizes of the variables.
        train_objective: "own" (default: the critic maximises the NWJ bound) or "js" (the critic
            maximises the Jensen-Shannon objective, read out at ``T + 1``); the estimate is the NWJ
            bound either way.
        **kwargs: see :class:`CriticEstimator`.
    """

    bound = Bound.LOWER

    def __init__(self, dims: Sequence[int], *, train_objective: str = "own", **kwargs: Any) -> None:
        check_choice("train_objective", train_objective, TRAIN_OBJECTIVES)
        super().__init__(dims, **kwargs)
        self.train_objective = train_objective
        self.readout_shift = JS_READOUT_SHIFT if train_objective == "js" else 0.0

    def estimate_from(self, joint: Tensor, marginal: Tensor) -> Tensor:
        return nwj_bound(joint + self.readout_shift, marginal + self.readout_shift)

    def critic_loss(self, scores: CriticScores, estimate: Tensor) -> Tensor:
        if self.train_objective == "js":
            return js_trained_loss(scores)
        return -estimate


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
