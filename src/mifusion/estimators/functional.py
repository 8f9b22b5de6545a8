"""Pure functions for every bound: critic scores in, scalar estimates out.

Every function here is stateless and differentiable; the modules in this package wrap them. Log-mean-exp
is always ``logsumexp - log n`` (never ``log(exp(.).mean())``), and exponentials are taken of arguments
clamped at :data:`MAX_EXPONENT` so finite scores never give inf.

References:
    Poole et al., "On Variational Bounds of Mutual Information", ICML 2019 (DV, NWJ, InfoNCE, BA).
    Song & Ermon, "Understanding the Limitations of Variational MI Estimators", ICLR 2020 (SMILE).
    Hjelm et al., "Deep InfoMax", ICLR 2019 (Jensen-Shannon form).
    Cheng et al., "CLUB: A Contrastive Log-ratio Upper Bound of Mutual Information", ICML 2020.

Example:
    >>> import torch
    >>> t = torch.zeros(8)
    >>> float(dv_bound(t, t)), float(infonce_bound(torch.zeros(4, 4)))
    (0.0, 0.0)
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

MAX_EXPONENT = 50.0
"""Largest argument passed to ``exp`` (e^50 ~ 5e21 is finite in float32): a safety clamp, not a knob."""

LOG_TWO_PI = math.log(2.0 * math.pi)


def log_mean_exp(scores: Tensor, dim: int | None = None) -> Tensor:
    """``log(mean(exp(scores)))`` computed stably as ``logsumexp - log n``."""
    if dim is None:
        scores = scores.reshape(-1)
        dim = 0
    return torch.logsumexp(scores, dim=dim) - math.log(scores.shape[dim])


def dv_bound(joint: Tensor, marginal: Tensor) -> Tensor:
    """Donsker-Varadhan: ``E_P[T] - log E_Q[exp T]``.

    Args:
        joint: (N,) critic scores on samples of the joint.
        marginal: (M,) critic scores on samples of the product of marginals.
    """
    return joint.mean() - log_mean_exp(marginal)


def nwj_bound(joint: Tensor, marginal: Tensor) -> Tensor:
    """NWJ (MINE-f): ``E_P[T] - e^-1 E_Q[exp T]``, the exponent clamped at ``MAX_EXPONENT``."""
    return joint.mean() - torch.exp(torch.clamp(log_mean_exp(marginal) - 1.0, max=MAX_EXPONENT))


def js_objective(joint: Tensor, marginal: Tensor) -> Tensor:
    """Deep InfoMax's Jensen-Shannon objective ``E_P[-softplus(-T)] - E_Q[softplus(T)]``.

    Its supremum over critics is ``2 JSD - log 4``; see :func:`js_divergence`.
    """
    return -F.softplus(-joint).mean() - F.softplus(marginal).mean()


def js_divergence(joint: Tensor, marginal: Tensor) -> Tensor:
    """Lower bound of the Jensen-Shannon divergence (nats, in [0, log 2] at the optimum)."""
    return 0.5 * (js_objective(joint, marginal) + math.log(4.0))


def smile_bound(joint: Tensor, marginal: Tensor, tau: float) -> Tensor:
    """SMILE: DV with the marginal scores clipped to [-tau, tau] (``exp T`` to [e^-tau, e^tau])."""
    return joint.mean() - log_mean_exp(torch.clamp(marginal, -tau, tau))


def wasserstein_bound(joint: Tensor, marginal: Tensor) -> Tensor:
    """Wasserstein dependency ``E_P[T] - E_Q[T]`` (a bound only for a 1-Lipschitz critic)."""
    return joint.mean() - marginal.mean()


def infonce_bound(scores: Tensor) -> Tensor:
    """InfoNCE from a (B, B) score matrix with positives on the diagonal; never exceeds ``log B``.

    ``mean_i [s_ii - log mean_j exp s_ij]``, computed on rows centred at their positive so that the
    logsumexp includes an exact exp(0) and the cap holds in floating point.
    """
    centred = scores - scores.diagonal().unsqueeze(1)  # (B, B), zero diagonal
    return math.log(scores.shape[0]) - torch.logsumexp(centred, dim=1).mean()


def gaussian_log_likelihood(y: Tensor, mean: Tensor, log_variance: Tensor, form: str = "gaussian") -> Tensor:
    """Per-sample log density of y under a diagonal Gaussian, summed over features.

    Args:
        y: (B, D) targets.
        mean: (B, D).
        log_variance: (B, D).
        form: "gaussian" is the true log density; "reference" is MMIM's truncated form
            ``-(y - mean)^2 / (2 sigma^2)`` (no log-variance term, no constant), kept for parity only.

    Returns:
        (B,) log-likelihoods.
    """
    squared = (y - mean).pow(2) * torch.exp(-log_variance)  # (B, D)
    if form == "reference":
        return -0.5 * squared.sum(dim=-1)
    if form != "gaussian":
        raise ValueError(f"unknown likelihood form {form!r}; use 'gaussian' or 'reference'")
    return -0.5 * (squared + log_variance + LOG_TWO_PI).sum(dim=-1)


def student_t_log_likelihood(y: Tensor, mean: Tensor, log_variance: Tensor, dof: Tensor) -> Tensor:
    """Per-sample log density of y under a multivariate Student-t with diagonal scale.

    ``t_nu(y; mean, diag(exp(log_variance)))``: a Gaussian scale mixture, heavier-tailed than the Gaussian
    for small ``dof`` and equal to it as ``dof -> inf``.

    Args:
        y: (B, D) targets.
        mean: (B, D) location.
        log_variance: (B, D) log of the squared scale.
        dof: scalar degrees of freedom nu > 0.

    Returns:
        (B,) log-likelihoods.
    """
    dim = y.shape[-1]
    squared = ((y - mean).pow(2) * torch.exp(-log_variance)).sum(-1)  # (B,)
    norm = torch.lgamma(0.5 * (dof + dim)) - torch.lgamma(0.5 * dof) - 0.5 * dim * torch.log(dof * math.pi)
    return norm - 0.5 * log_variance.sum(-1) - 0.5 * (dof + dim) * torch.log1p(squared / dof)


def gaussian_mixture_log_likelihood(y: Tensor, logits: Tensor, mean: Tensor, log_variance: Tensor) -> Tensor:
    """Per-sample log density of y under a mixture of diagonal Gaussians.

    ``log sum_k pi_k N(y; mean_k, diag(exp(log_variance_k)))`` with ``pi = softmax(logits)``, computed
    with logsumexp over components (never ``log(sum(exp(.)))``).

    Args:
        y: (B, D) targets.
        logits: (B, K) unnormalised log mixture weights.
        mean: (B, K, D) component means.
        log_variance: (B, K, D) component log-variances.

    Returns:
        (B,) log-likelihoods.

    Example:
        >>> y, m, lv = torch.zeros(2, 3), torch.zeros(2, 1, 3), torch.zeros(2, 1, 3)
        >>> torch.allclose(gaussian_mixture_log_likelihood(y, torch.zeros(2, 1), m, lv),
        ...                gaussian_log_likelihood(y, m[:, 0], lv[:, 0]))
        True
    """
    squared = (y.unsqueeze(1) - mean).pow(2) * torch.exp(-log_variance)  # (B, K, D)
    component = -0.5 * (squared + log_variance + LOG_TWO_PI).sum(dim=-1)  # (B, K)
    return torch.logsumexp(torch.log_softmax(logits, dim=-1) + component, dim=-1)


def club_bound(y: Tensor, mean: Tensor, log_variance: Tensor) -> Tensor:
    """CLUB upper bound ``E_P[log q(y|x)] - E_{x} E_{y'}[log q(y'|x)]`` over all pairs of the batch.

    The log-variance and constant terms cancel between the two expectations; the all-pairs mean of the
    squared error is computed in closed form in O(B D).
    """
    inverse_variance = torch.exp(-log_variance)  # (B, D)
    positive = -0.5 * ((y - mean).pow(2) * inverse_variance).sum(-1)  # (B,)
    y_mean = y.mean(0)  # (D,)
    y_square_mean = y.pow(2).mean(0)  # (D,)
    all_pairs_square = y_square_mean - 2.0 * mean * y_mean + mean.pow(2)  # (B, D): E_j (y_j - mu_i)^2
    negative = -0.5 * (all_pairs_square * inverse_variance).sum(-1)  # (B,)
    return (positive - negative).mean()


def gaussian_entropy(covariance: Tensor) -> Tensor:
    """Differential entropy (nats) of a Gaussian with a (D, D) covariance: ``1/2 log det(2 pi e S)``."""
    dim = covariance.shape[-1]
    return 0.5 * (torch.linalg.slogdet(covariance).logabsdet + dim * (LOG_TWO_PI + 1.0))
