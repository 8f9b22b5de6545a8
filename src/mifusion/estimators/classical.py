"""Classical (untrained) MI estimators: KSG k-nearest neighbours and Gaussian MI from canonical correlations.

- **KSG** (Kraskov, Stoegbauer and Grassberger 2004, their estimator 1):
  ``psi(k) + psi(N) - < psi(n_x + 1) + psi(n_y + 1) >``, where ``eps_i`` is the max-norm distance from
  row i to its k-th neighbour in the joint space and ``n_x`` (``n_y``) counts the other rows strictly
  within ``eps_i`` in the x (y) space. Neighbours come from scipy's kd-tree; every coordinate is first
  standardised (as the benchmark-mi package does). Neither a lower nor an upper bound; consistent as
  N grows, biased low at large MI and in high dimensions.
- **CCA** (Gaussian MI): ``-1/2 sum_i log(1 - rho_i^2)`` over the canonical correlations ``rho_i`` of
  x and y (the MI of a Gaussian with the sample covariance; Cover and Thomas 2006, 8.5). Exact for
  Gaussian data; it sees only linear dependence.

Both take float arrays (N, Dx), (N, Dy) and return nats.

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(2000, 1))
    >>> y = 0.75 * x + np.sqrt(1 - 0.75**2) * rng.normal(size=(2000, 1))  # truth 0.4133 nats
    >>> round(cca_mi(x, y), 2), round(ksg_mi(x, y), 2)
    (0.41, 0.4)
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import special
from scipy.spatial import cKDTree

from mifusion.errors import ConfigError

Array = np.ndarray
DEFAULT_K = 3
RIDGE = 1e-9
"""Added to the diagonal of the standardised covariances (a constant or duplicated column stays finite)."""


def _standardise(v: Array) -> Array:
    v = np.asarray(v, dtype=np.float64)
    if v.ndim == 1:
        v = v[:, None]
    scale = v.std(axis=0)
    return (v - v.mean(axis=0)) / np.where(scale > 0, scale, 1.0)


def _check(x: Array, y: Array, minimum: int) -> tuple[Array, Array]:
    x, y = _standardise(x), _standardise(y)
    if x.ndim != 2 or y.ndim != 2 or x.shape[0] != y.shape[0]:
        raise ConfigError(f"x and y need the same number of rows; got {x.shape} and {y.shape}")
    if x.shape[0] < minimum:
        raise ConfigError(f"need at least {minimum} rows, got {x.shape[0]}")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ConfigError("x and y must be finite (no NaN or inf)")
    return x, y


def ksg_mi(x: Array, y: Array, k: int = DEFAULT_K) -> float:
    """KSG estimator 1 with ``k`` neighbours (max-norm), in nats."""
    if k < 1:
        raise ConfigError(f"k must be at least 1, got {k}")
    x, y = _check(x, y, k + 2)
    n = x.shape[0]
    joint = np.concatenate([x, y], axis=1)
    distance, _ = cKDTree(joint).query(joint, k=k + 1, p=np.inf)
    radius = np.nextafter(distance[:, -1], 0)  # strictly within eps_i
    n_x = cKDTree(x).query_ball_point(x, radius, p=np.inf, return_length=True) - 1
    n_y = cKDTree(y).query_ball_point(y, radius, p=np.inf, return_length=True) - 1
    value = (
        special.digamma(k) + special.digamma(n) - np.mean(special.digamma(n_x + 1) + special.digamma(n_y + 1))
    )
    return float(max(value, 0.0)) if np.isfinite(value) else float("nan")


def canonical_correlations(x: Array, y: Array) -> Array:
    """The canonical correlations of x and y, largest first (min(Dx, Dy) values in [0, 1])."""
    x, y = _check(x, y, 3)
    n = x.shape[0]
    sxx = x.T @ x / n + RIDGE * np.eye(x.shape[1])
    syy = y.T @ y / n + RIDGE * np.eye(y.shape[1])
    sxy = x.T @ y / n
    lx, ly = np.linalg.cholesky(sxx), np.linalg.cholesky(syy)
    whitened = np.linalg.solve(lx, np.linalg.solve(ly, sxy.T).T)
    return np.clip(np.linalg.svd(whitened, compute_uv=False), 0.0, 1.0 - 1e-12)


def cca_mi(x: Array, y: Array) -> float:
    """Gaussian MI from the canonical correlations, in nats."""
    rho = canonical_correlations(x, y)
    return float(-0.5 * np.log1p(-(rho**2)).sum())


CLASSICAL: dict[str, Callable[[Array, Array], float]] = {"ksg": ksg_mi, "cca": cca_mi}
"""The classical estimators by name (``mifusion estimators check`` grades them next to the trained ones)."""
