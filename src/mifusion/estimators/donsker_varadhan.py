"""Donsker-Varadhan bound and MINE (Belghazi et al., "Mutual Information Neural Estimation", ICML 2018).

``I(X; Y) >= E_P[T] - log E_Q[exp T]``. The minibatch gradient of ``log E_Q[exp T]`` is biased; MINE's
correction (``ema=True``) replaces the denominator of that gradient with an exponential moving average of
``E_Q[exp T]`` (kept in log space). With ``train_objective="js"`` the critic is trained on the
Jensen-Shannon objective instead (Poole et al. 2019; Hjelm et al. 2019), which is robust to heavy-tailed
marginals. The reported estimate is always the plain DV value of the critic.

Example:
    >>> import torch
    >>> est = DonskerVaradhan((2, 3), hidden_dim=8, num_layers=1)
    >>> out = est(torch.randn(16, 2), torch.randn(16, 3))
    >>> bool(out.estimate.isfinite()), est.bound.value
    (True, 'lower')
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from mifusion.estimators.base import ESTIMATORS, Bound, EstimatorEntry
from mifusion.estimators.critic_estimator import (
    TRAIN_OBJECTIVES,
    CriticEstimator,
    CriticScores,
    check_choice,
    js_trained_loss,
    params_need_grad,
)
from mifusion.estimators.functional import MAX_EXPONENT, dv_bound, log_mean_exp


class DonskerVaradhan(CriticEstimator):
    """DV / MINE lower bound of I(X; Y) (or of the total correlation of k variables).

    Args:
        dims: feature sizes of the variables.
        ema: use MINE's moving-average gradient correction in the critic's loss.
        ema_decay: weight of the old average (about 0.9 in MINE).
        train_objective: "own" (default: the critic maximises the DV bound, with MINE's correction when
            ``ema``) or "js" (the critic maximises the Jensen-Shannon objective; ``ema`` is then unused).
            The estimate is the DV bound either way.
        **kwargs: see :class:`CriticEstimator`.
    """

    bound = Bound.LOWER

    def __init__(
        self,
        dims: Sequence[int],
        *,
        ema: bool = False,
        ema_decay: float = 0.9,
        train_objective: str = "own",
        **kwargs: Any,
    ) -> None:
        check_choice("train_objective", train_objective, TRAIN_OBJECTIVES)
        super().__init__(dims, **kwargs)
        self.train_objective = train_objective
        self.ema = ema
        self.ema_decay = ema_decay
        self.log_ema: Tensor
        self.register_buffer("log_ema", torch.tensor(float("nan")))

    def estimate_from(self, joint: Tensor, marginal: Tensor) -> Tensor:
        return dv_bound(joint, marginal)

    def critic_loss(self, scores: CriticScores, estimate: Tensor) -> Tensor:
        if self.train_objective == "js":
            return js_trained_loss(scores)
        if not self.ema or not params_need_grad(self.critic):
            return -estimate
        log_batch = log_mean_exp(scores.marginal)
        with torch.no_grad():
            if self.training:
                if torch.isnan(self.log_ema):
                    self.log_ema.copy_(log_batch.detach())
                else:
                    mixed = torch.stack(
                        [
                            self.log_ema + math.log(self.ema_decay),
                            log_batch.detach() + math.log(1.0 - self.ema_decay),
                        ]
                    )
                    self.log_ema.copy_(torch.logsumexp(mixed, 0))
            log_ema = self.log_ema.clone() if not torch.isnan(self.log_ema) else log_batch.detach()
        # gradient of exp(log_batch - log_ema) is grad(E_Q exp T) / EMA: MINE's corrected gradient.
        corrected = torch.exp(torch.clamp(log_batch - log_ema, max=MAX_EXPONENT))
        return -(scores.joint.mean() - corrected)


def _build_dv(x_dim: int, y_dim: int, *more_dims: int, **options: Any) -> DonskerVaradhan:
    return DonskerVaradhan((x_dim, y_dim, *more_dims), **options)


def _build_mine(x_dim: int, y_dim: int, *more_dims: int, **options: Any) -> DonskerVaradhan:
    options.setdefault("ema", True)
    return DonskerVaradhan((x_dim, y_dim, *more_dims), **options)


_REFERENCE = "Belghazi et al., Mutual Information Neural Estimation, ICML 2018"
ESTIMATORS.add(
    "dv", EstimatorEntry(_build_dv, Bound.LOWER, "mi", "Donsker-Varadhan bound with a critic", _REFERENCE)
)
ESTIMATORS.add(
    "mine",
    EstimatorEntry(_build_mine, Bound.LOWER, "mi", "DV with MINE's moving-average gradient fix", _REFERENCE),
)
