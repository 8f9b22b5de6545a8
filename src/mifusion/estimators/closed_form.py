"""Closed-form mutual information (nats) of the laws the ground-truth tasks sample from.

Gaussian I = 1/2 (log det S_xx + log det S_yy - log det S) (Cover and Thomas 2006, 8.5); the multivariate
Student-t adds h(k_x) + h(k_y) - h(k_x + k_y) (Arellano-Valle, Contreras-Reyes and Genton 2013); X ~ U(0, 1),
Y = X + U(-e, e) gives e - log 2e for e <= 1/2, else 1/(4e) (Czyz et al. 2023).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
from scipy import special

Array = np.ndarray


def gaussian_mi(cov: Array, dims: tuple[int, ...]) -> float:
    """Total correlation 1/2 (sum_i log det S_ii - log det S) of a Gaussian; MI for two blocks.

    Example:
        >>> round(gaussian_mi(np.array([[1.0, 0.5], [0.5, 1.0]]), (1, 1)), 5)
        0.14384
    """
    bounds = np.cumsum((0, *dims))
    blocks = [np.linalg.slogdet(cov[a:b, a:b])[1] for a, b in itertools.pairwise(bounds)]
    return float(0.5 * (sum(blocks) - np.linalg.slogdet(cov)[1]))


def student_t_entropy_term(k: int, nu: float) -> float:
    """h(k) of REFERENCE 3: the multivariate-t entropy minus 1/2 log det of its dispersion."""
    a = (nu + k) / 2.0
    return float(
        a * (special.digamma(a) - special.digamma(nu / 2.0))
        - special.gammaln(a)
        + special.gammaln(nu / 2.0)
        + 0.5 * k * math.log(nu * math.pi)
    )


def student_t_mi(dispersion: Array, dims: tuple[int, ...], nu: float) -> float:
    """MI (or total correlation) of a multivariate Student-t: Gaussian part plus the h(k) correction."""
    correction = sum(student_t_entropy_term(k, nu) for k in dims) - student_t_entropy_term(sum(dims), nu)
    return gaussian_mi(dispersion, dims) + correction


def uniform_mi(eps: float) -> float:
    """I(X; X + U(-eps, eps)) for X ~ U(0, 1)."""
    return eps - math.log(2.0 * eps) if eps <= 0.5 else 1.0 / (4.0 * eps)


def dense_correlation(total_dim: int, rho: float) -> Array:
    """Covariance with unit variances and every correlation equal to ``rho``."""
    return np.full((total_dim, total_dim), rho) + (1.0 - rho) * np.eye(total_dim)
