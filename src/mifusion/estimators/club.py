"""CLUB: contrastive log-ratio upper bound (Cheng et al., ICML 2020), for *minimising* dependency.

``I(X; Y) <= E_P[log q(y|x)] - E_{P(x)P(y)}[log q(y|x)]`` with q fitted by maximum likelihood (its loss),
over all in-batch pairs. Both x and y pass through the estimator's standardisation (default: robust,
median/MAD then asinh): I(X; Y) is unchanged by invertible per-variable maps, so the bound still bounds
I(X; Y), and heavy-tailed y cannot blow up the squared errors.

Example:
    >>> import torch
    >>> est = CLUB(2, 3, hidden_dim=8, num_layers=1)
    >>> out = est(torch.randn(16, 2), torch.randn(16, 3))
    >>> CLUB.bound.value, bool(out.estimate.isfinite())
    ('upper', True)
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from mifusion.errors import ConfigError
from mifusion.estimators.barber_agakov import GaussianConditional
from mifusion.estimators.base import ESTIMATORS, Bound, EstimatorEntry, MIEstimator, MIOutput
from mifusion.estimators.critic_estimator import check_choice, check_views, skipped_output
from mifusion.estimators.critics import STANDARDIZE, standardize
from mifusion.estimators.functional import club_bound, gaussian_log_likelihood


class CLUB(MIEstimator):
    """CLUB upper bound of I(X; Y).

    Args:
        x_dim: feature size of x.
        y_dim: feature size of y.
        hidden_dim: width of q's two MLPs.
        num_layers: their number of hidden layers.
        critic: accepted for the shared builder signature; unused.
        negatives: accepted for the shared builder signature; unused (CLUB uses all pairs).
        standardize: standardisation of x and y (see :mod:`mifusion.estimators.critics`).
    """

    bound = Bound.UPPER

    def __init__(
        self,
        x_dim: int,
        y_dim: int,
        *,
        hidden_dim: int = 128,
        num_layers: int = 2,
        critic: str = "joint",
        negatives: str = "all_pairs",
        standardize: str = "robust",
    ) -> None:
        super().__init__()
        check_choice("standardize", standardize, STANDARDIZE)
        self.dims = (x_dim, y_dim)
        self.standardize = standardize
        self.q = GaussianConditional(x_dim, y_dim, hidden_dim=hidden_dim, num_layers=num_layers)

    def pointwise(self, x: Tensor, y: Tensor) -> Tensor:
        """(B,) log q(y|x) of each sample (standardised y units)."""
        check_views((x, y), self.dims, "CLUB")
        params = self.q(standardize(x, self.standardize))
        return gaussian_log_likelihood(standardize(y, self.standardize), params.mean, params.log_variance)

    def forward(self, x: Tensor, y: Tensor) -> MIOutput:
        """Estimate from (B, Dx) and (B, Dy) paired rows."""
        check_views((x, y), self.dims, "CLUB")
        if x.shape[0] < 2:
            return skipped_output((x, y))
        y_std = standardize(y, self.standardize)
        params = self.q(standardize(x, self.standardize))
        estimate = club_bound(y_std, params.mean, params.log_variance)
        lld = gaussian_log_likelihood(y_std, params.mean, params.log_variance).mean()
        diagnostics = {
            "log_likelihood": lld.detach(),
            "sigma_mean": torch.exp(0.5 * params.log_variance).mean().detach(),
        }
        return MIOutput(estimate, -lld, diagnostics)


def _build(x_dim: int, y_dim: int, *more_dims: int, **options: Any) -> CLUB:
    if more_dims:
        raise ConfigError("club estimates I(X; Y) of two variables; use scope 'pairwise' for 3 modalities")
    return CLUB(x_dim, y_dim, **options)


ESTIMATORS.add(
    "club",
    EstimatorEntry(
        _build,
        Bound.UPPER,
        "mi",
        "CLUB upper bound, for minimising dependency",
        "Cheng et al., CLUB: A Contrastive Log-ratio Upper Bound of Mutual Information, ICML 2020",
    ),
)
