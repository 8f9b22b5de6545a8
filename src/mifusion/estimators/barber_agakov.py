"""Barber-Agakov bound with a Gaussian q(y|x) (Barber & Agakov, "The IM Algorithm", NeurIPS 2003).

``I(X; Y) >= H(Y) + E[log q(y|x)]`` for any q; it is a bound only when H(Y) is exact. The estimator takes
H(Y) from the ``entropy_y`` option (closed form, e.g. on ground-truth tasks); without it, H(Y) is the
Gaussian entropy of the batch covariance of y (exact only for Gaussian Y, an over-estimate otherwise,
reported as ``diagnostics["entropy"]``). For H(Y) from labels and a memory, see
:mod:`mifusion.estimators.entropy` and :class:`mifusion.estimators.mmim.MMIMObjective`.

q's mean and log-variance come from two MLPs on the (standardised) x. With ``covariance="diagonal"``
(default) q is a diagonal Gaussian; with ``covariance="full"`` the residual ``r = y - mean(x)`` is first
multiplied by a learned unit lower-triangular matrix M (x-independent, identity at start), so q has the
full covariance ``M^-1 diag(exp(log_variance(x))) M^-T`` (an LDL^T factorisation, log |det M| = 0): exact
for Gaussian tasks, whose conditional covariance does not depend on x, for one (D, D) product.

y is mapped by a detached per-feature affine standardisation before q and its log-Jacobian is added back,
so ``log q`` is the exact density of the raw y at any scale. The centre and scale (median and 1.4826 MAD)
are running statistics (:class:`RunningAffine`): updated by an exponential moving average from each batch
in training mode, used as they are in eval mode, so every sample of a batch (and every batch) goes
through one fixed map. Per-batch statistics would add a random shift and scale that q cannot predict
from x, which costs most when the true conditional variance is small. The log-variance is softly
bounded to ``+-LOG_VARIANCE_LIMIT`` in those standard units so identical rows cannot drive it to -inf.

Example:
    >>> import torch
    >>> est = BarberAgakov(2, 1, hidden_dim=8, num_layers=1, entropy_y=1.4189)
    >>> out = est(torch.randn(16, 2), torch.randn(16, 1))
    >>> sorted(out.diagnostics)[:2]
    ['entropy', 'log_likelihood']
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import Tensor, nn

from mifusion.errors import ConfigError
from mifusion.estimators.base import ESTIMATORS, Bound, EstimatorEntry, MIEstimator, MIOutput
from mifusion.estimators.critic_estimator import check_choice, check_views, skipped_output
from mifusion.estimators.critics import SCALE_FLOOR, SQUASH_SCALE, STANDARDIZE, RunningAffine, mlp
from mifusion.estimators.functional import (
    gaussian_entropy,
    gaussian_log_likelihood,
    gaussian_mixture_log_likelihood,
    student_t_log_likelihood,
)
from mifusion.estimators.mixture_conditional import MixtureConditional, MixtureParams

LOG_VARIANCE_LIMIT = 10.0
"""Soft bound on q's log-variance (in the units q sees): sigma within [e^-5, e^5]."""
COVARIANCE_EPS = 1e-4
LIKELIHOODS = ("gaussian", "reference")
COVARIANCES = ("diagonal", "full")
DISTRIBUTIONS = ("gaussian", "student_t", "mixture")
DEFAULT_COMPONENTS = 8
INITIAL_DOF = 5.0
MAX_LOG_DOF = 8.0
"""nu stays within INITIAL_DOF * e^(+-8): from ~0.002 (Cauchy-like and beyond) to ~15,000 (Gaussian)."""
DOF_RATE = 20.0
"""nu = INITIAL_DOF * exp(DOF_RATE * a) for a learned scalar a: Adam's ~lr-sized steps on a move log nu
DOF_RATE times faster, so nu can travel from 5 to 2 or to 500 within a few hundred steps."""


class GaussianParams(NamedTuple):
    """Mean and log-variance of a diagonal Gaussian, each (B, D)."""

    mean: Tensor
    log_variance: Tensor


class GaussianConditional(nn.Module):
    """q(y|x) = N(mean(x), diag(exp(log_variance(x)))) from two MLPs (MMIM's design: 1 hidden layer).

    ``zero_init``: the output layers start at zero, so q starts as N(0, I) for every x and learns only the
    dependence on x that the data supports (a random initial x-dependence is slow to unlearn).
    ``bound_log_variance``: softly bound the log-variance to +-LOG_VARIANCE_LIMIT (default); False keeps
    the raw MLP output, as the MMIM reference code does (parity only).
    """

    def __init__(
        self,
        x_dim: int,
        y_dim: int,
        *,
        hidden_dim: int = 128,
        num_layers: int = 2,
        zero_init: bool = False,
        bound_log_variance: bool = True,
    ) -> None:
        super().__init__()
        self.bound_log_variance = bound_log_variance
        self.mean = mlp(x_dim, hidden_dim, num_layers, y_dim)
        self.log_variance = mlp(x_dim, hidden_dim, num_layers, y_dim)
        if zero_init:
            for net in (self.mean, self.log_variance):
                out = net[-1]
                assert isinstance(out, nn.Linear)
                nn.init.zeros_(out.weight)
                nn.init.zeros_(out.bias)

    def forward(self, x: Tensor) -> GaussianParams:
        """(B, Dx) -> mean and log-variance (B, Dy), the latter softly bounded unless told not to."""
        raw = self.log_variance(x)
        if not self.bound_log_variance:
            return GaussianParams(self.mean(x), raw)
        return GaussianParams(self.mean(x), LOG_VARIANCE_LIMIT * torch.tanh(raw / LOG_VARIANCE_LIMIT))


def batch_gaussian_entropy(y: Tensor, eps: float = COVARIANCE_EPS) -> Tensor:
    """Gaussian entropy (nats) of the batch covariance of (B, D) y, regularised by eps * mean variance."""
    centered = y - y.mean(0, keepdim=True)
    cov = centered.T @ centered / max(y.shape[0] - 1, 1)
    ridge = eps * torch.clamp(cov.diagonal().mean().detach(), min=SCALE_FLOOR)
    return gaussian_entropy(cov + ridge * torch.eye(y.shape[1], device=y.device, dtype=y.dtype))


class BarberAgakov(MIEstimator):
    """Barber-Agakov lower bound ``H(Y) + E log q(y|x)``.

    Args:
        x_dim: feature size of x.
        y_dim: feature size of y.
        hidden_dim: width of q's two MLPs.
        num_layers: their number of hidden layers.
        critic: accepted for the shared builder signature; unused.
        negatives: accepted for the shared builder signature; unused.
        entropy_y: H(Y) in nats when known in closed form (then the estimate is a true lower bound).
        likelihood: "gaussian" (the full log density, default) or MMIM's truncated "reference" form (parity only; not a density).
        standardize: standardisation of x: "robust" (default; running median/MAD, then the critics' asinh
            squash), "batch" (running median/MAD only) or "none".
        covariance: "diagonal" (default) or "full" (learned x-independent correlations, see above).
        distribution: q's family: "gaussian" (default) or "student_t" (a multivariate Student-t with the
            same location and scale and learned degrees of freedom nu, for heavy-tailed y; the Gaussian is
            its nu -> inf limit). The conditional of a multivariate Student-t is itself a Student-t.
            "mixture": a mixture of ``components`` diagonal Gaussians with x-dependent weights, means and
            variances (:class:`~mifusion.estimators.mixture_conditional.MixtureConditional`), for
            conditionals no single Gaussian fits (e.g. a boxcar).
        components: number of mixture components K (``distribution="mixture"`` only).
    """

    bound = Bound.LOWER

    def __init__(
        self,
        x_dim: int,
        y_dim: int,
        *,
        hidden_dim: int = 128,
        num_layers: int = 2,
        critic: str = "joint",
        negatives: str = "derangement",
        entropy_y: float | None = None,
        likelihood: str = "gaussian",
        standardize: str = "robust",
        covariance: str = "diagonal",
        distribution: str = "gaussian",
        components: int = DEFAULT_COMPONENTS,
    ) -> None:
        super().__init__()
        check_choice("likelihood", likelihood, LIKELIHOODS)
        check_choice("distribution", distribution, DISTRIBUTIONS)
        if distribution != "gaussian" and likelihood != "gaussian":
            raise ConfigError(
                f"distribution={distribution!r} needs likelihood='gaussian' (the full log density)"
            )
        if components < 1:
            raise ConfigError(f"components must be >= 1, got {components}")
        check_choice("covariance", covariance, COVARIANCES)
        check_choice("standardize", standardize, STANDARDIZE)
        self.dims = (x_dim, y_dim)
        self.entropy_y = entropy_y
        self.likelihood = likelihood
        self.standardize = standardize
        self.covariance = covariance
        self.distribution = distribution
        self.q: GaussianConditional | MixtureConditional
        if distribution == "mixture":
            self.q = MixtureConditional(
                x_dim, y_dim, components=components, hidden_dim=hidden_dim, num_layers=num_layers
            )
        else:
            self.q = GaussianConditional(
                x_dim, y_dim, hidden_dim=hidden_dim, num_layers=num_layers, zero_init=True
            )
        self.log_dof = nn.Parameter(torch.zeros(())) if distribution == "student_t" else None
        self.x_affine = RunningAffine(x_dim)
        self.y_affine = RunningAffine(y_dim)
        # strictly lower part used: M = I + tril(L, -1), det M = 1
        self.decorrelate = nn.Parameter(torch.zeros(y_dim, y_dim)) if covariance == "full" else None

    def standardize_x(self, x: Tensor) -> Tensor:
        """x through the running median/MAD map, then the asinh squash for "robust" ("none": raw x).

        Running rather than per-batch statistics, as for y: the mean of q is then one fixed function of x.
        """
        if self.standardize == "none":
            return x
        x_std = self.x_affine(x)[0]
        return SQUASH_SCALE * torch.asinh(x_std / SQUASH_SCALE) if self.standardize == "robust" else x_std

    def log_likelihood(self, x: Tensor, y: Tensor) -> tuple[Tensor, GaussianParams | MixtureParams]:
        """(B,) log q(y|x) of the raw y, and q's parameters in standardised units."""
        y_std, log_scale = self.y_affine(y)
        params = self.q(self.standardize_x(x))
        mean = params.mean
        if self.decorrelate is not None:  # compare M y with M mean(x): the residual is M (y - mean)
            lower = torch.tril(self.decorrelate, diagonal=-1)
            y_std, mean = y_std + y_std @ lower.T, mean + mean @ lower.T
        dof = self.dof()
        if isinstance(params, MixtureParams):
            lld = gaussian_mixture_log_likelihood(y_std, params.logits, mean, params.log_variance)
        elif dof is not None:
            lld = student_t_log_likelihood(y_std, mean, params.log_variance, dof)
        else:
            lld = gaussian_log_likelihood(y_std, mean, params.log_variance, self.likelihood)
        return (lld - log_scale if self.likelihood == "gaussian" else lld), params

    def dof(self) -> Tensor | None:
        """Degrees of freedom of a Student-t q (None for a Gaussian q)."""
        if self.log_dof is None:
            return None
        return INITIAL_DOF * torch.exp(torch.clamp(DOF_RATE * self.log_dof, -MAX_LOG_DOF, MAX_LOG_DOF))

    def pointwise(self, x: Tensor, y: Tensor) -> Tensor:
        """(B,) log q(y|x) of each sample."""
        check_views((x, y), self.dims, "BarberAgakov")
        return self.log_likelihood(x, y)[0]

    def forward(self, x: Tensor, y: Tensor) -> MIOutput:
        """Estimate from (B, Dx) and (B, Dy) paired rows."""
        check_views((x, y), self.dims, "BarberAgakov")
        if x.shape[0] < 2:
            return skipped_output((x, y))
        lld, params = self.log_likelihood(x, y)
        lld = lld.mean()
        entropy = y.new_tensor(self.entropy_y) if self.entropy_y is not None else batch_gaussian_entropy(y)
        diagnostics = {
            "log_likelihood": lld.detach(),
            "entropy": entropy.detach(),
            "sigma_mean": torch.exp(0.5 * params.log_variance.detach()).mean(),
        }
        dof = self.dof()
        if dof is not None:
            diagnostics["dof"] = dof.detach()
        return MIOutput(entropy + lld, -lld, diagnostics)


def _build(x_dim: int, y_dim: int, *more_dims: int, **options: Any) -> BarberAgakov:
    if more_dims:
        raise ConfigError("ba estimates I(X; Y) of two variables; use scope 'pairwise' for 3 modalities")
    return BarberAgakov(x_dim, y_dim, **options)


ESTIMATORS.add(
    "ba",
    EstimatorEntry(
        _build,
        Bound.LOWER,
        "mi",
        "Barber-Agakov with a Gaussian (Student-t, mixture) q(y|x); pass entropy_y for a true bound",
        "Barber & Agakov, The IM Algorithm, NeurIPS 2003",
    ),
)
