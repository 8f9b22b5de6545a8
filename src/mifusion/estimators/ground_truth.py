"""Tasks with known mutual information (or total correlation) for checking estimators.

Every task samples latent variables whose density is known in closed form, optionally maps each variable
through an invertible element-wise function (which leaves MI unchanged), and knows:
the true MI / total correlation, the pointwise log density ratio log p(joint) / prod p(marginals) on
latent samples (for Monte Carlo truths such as the Jensen-Shannon divergence) and the differential
entropy of the observed last variable (Y), which the Barber-Agakov check uses in closed form.

Formulas (nats): Gaussian I = 1/2 (log det S_xx + log det S_yy - log det S) (Cover and Thomas 2006, 8.5);
multivariate Student-t adds h(k_x) + h(k_y) - h(k_x + k_y) (Arellano-Valle, Contreras-Reyes and Genton
2013, Scand. J. Stat. 40(1)); X ~ U(0, 1), Y = X + U(-e, e) gives e - log 2e for e <= 1/2, else 1/(4e)
(Czyz et al. 2023, "Beyond normal", NeurIPS).

Example:
    >>> import numpy as np
    >>> task = get_task("gauss-1d-rho0.75")
    >>> round(task.truth, 5)
    0.41334
    >>> x, y = task.sample(4, np.random.default_rng(0))
    >>> tuple(x.shape), tuple(y.shape)
    ((4, 1), (4, 1))
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from scipy import integrate, special
from torch import Tensor

from mifusion.errors import ConfigError
from mifusion.estimators.closed_form import (
    dense_correlation,
    gaussian_mi,
    student_t_entropy_term,
    student_t_mi,
    uniform_mi,
)

Array = np.ndarray
_LOG_2PI = math.log(2.0 * math.pi)


@dataclass(frozen=True)
class Task:
    """A sampling task with a known dependency between its variables.

    Attributes:
        name: registry name, e.g. ``gauss-1d-rho0.5``.
        description: one line for ``mifusion estimators tasks``.
        dims: feature dimension of each variable (two for MI tasks, three or more for total correlation).
        truth: true MI (two variables) or total correlation (more), in nats.
        family: "gaussian", "student-t", "uniform" (what the latent law is).
        sample_latent: ``(n, rng) -> list of (n, d_i) float64 arrays`` from the latent law.
        log_ratio: ``list of latent arrays -> (n,)`` pointwise log p(joint) - sum log p(marginal);
            may be -inf outside the joint's support.
        transform: name of the element-wise map applied to every observed variable ("identity", "asinh",
            "cube-root-ish" = x sqrt|x|).
        entropy_y: differential entropy of the observed last variable in nats (None when unknown).
        observe: optional map from the latent arrays to the observed arrays (replaces ``transform``; it
            may differ per variable and change a dimension, e.g. the Beyond-Normal swiss roll), injective.
    """

    name: str
    description: str
    dims: tuple[int, ...]
    truth: float
    family: str
    sample_latent: Callable[[int, np.random.Generator], list[Array]]
    log_ratio: Callable[[list[Array]], Array]
    transform: str = "identity"
    entropy_y: float | None = None
    observe: Callable[[list[Array]], list[Array]] | None = None

    def sample_arrays(self, n: int, rng: np.random.Generator) -> list[Array]:
        """Observed samples: one float64 array (n, d_i) per variable."""
        latent = self.sample_latent(n, rng)
        if self.observe is not None:
            return self.observe(latent)
        return [TRANSFORMS[self.transform](v) for v in latent]

    def sample(self, n: int, rng: np.random.Generator) -> list[Tensor]:
        """Observed samples: one float32 tensor (n, d_i) per variable."""
        return [torch.from_numpy(np.ascontiguousarray(v)).float() for v in self.sample_arrays(n, rng)]


TRANSFORMS: dict[str, Callable[[Array], Array]] = {
    "identity": lambda v: v,
    "asinh": np.arcsinh,
    "x-sqrt-abs-x": lambda v: v * np.sqrt(np.abs(v)),
}
_LOG_JACOBIAN: dict[str, Callable[[Array], Array]] = {  # log |g'(v)| for the entropy of g(V)
    "identity": lambda v: np.zeros_like(v),
    "asinh": lambda v: -0.5 * np.log1p(v**2),
    "x-sqrt-abs-x": lambda v: np.log(1.5) + 0.5 * np.log(np.abs(v)),
}


def _split(v: Array, dims: tuple[int, ...]) -> list[Array]:
    return np.split(v, np.cumsum(dims)[:-1], axis=1)


def _gauss_logpdf(v: Array, cov: Array) -> Array:
    chol = np.linalg.cholesky(cov)
    z = np.linalg.solve(chol, v.T)  # (d, n)
    logdet = 2.0 * np.log(np.diag(chol)).sum()
    return -0.5 * (z**2).sum(0) - 0.5 * (logdet + v.shape[1] * _LOG_2PI)


def _t_logpdf(v: Array, cov: Array, nu: float) -> Array:
    k = v.shape[1]
    chol = np.linalg.cholesky(cov)
    q = (np.linalg.solve(chol, v.T) ** 2).sum(0)
    const = special.gammaln((nu + k) / 2) - special.gammaln(nu / 2) - 0.5 * k * math.log(nu * math.pi)
    return const - np.log(np.diag(chol)).sum() - (nu + k) / 2 * np.log1p(q / nu)


def _blocks(cov: Array, dims: tuple[int, ...]) -> list[Array]:
    bounds = np.cumsum((0, *dims))
    return [cov[a:b, a:b] for a, b in itertools.pairwise(bounds)]


def _elliptical_task(
    name: str, description: str, cov: Array, dims: tuple[int, ...], nu: float | None, transform: str
) -> Task:
    """A Gaussian (nu None) or Student-t task with dispersion ``cov`` split into ``dims``."""

    def sample_latent(n: int, rng: np.random.Generator) -> list[Array]:
        z = rng.multivariate_normal(np.zeros(len(cov)), cov, size=n, method="cholesky")
        if nu is not None:
            z = z / np.sqrt(rng.chisquare(nu, size=(n, 1)) / nu)  # one shared scale per sample
        return _split(z, dims)

    def logpdf(v: Array, c: Array) -> Array:
        return _gauss_logpdf(v, c) if nu is None else _t_logpdf(v, c, nu)

    def log_ratio(parts: list[Array]) -> Array:
        joint = logpdf(np.concatenate(parts, axis=1), cov)
        return joint - sum(logpdf(p, c) for p, c in zip(parts, _blocks(cov, dims)))

    y_cov = _blocks(cov, dims)[-1]
    if nu is None:
        truth = gaussian_mi(cov, dims)
        h_y = 0.5 * (np.linalg.slogdet(y_cov)[1] + len(y_cov) * (1.0 + _LOG_2PI))
    else:
        truth = student_t_mi(cov, dims, nu)
        h_y = 0.5 * np.linalg.slogdet(y_cov)[1] + student_t_entropy_term(len(y_cov), nu)
    if transform != "identity":  # h(g(Y)) = h(Y) + E log|g'(Y)|, element-wise on N(0, 1) marginals
        if nu is not None or not np.allclose(np.diag(y_cov), 1.0):
            raise ValueError("transformed tasks need unit-variance Gaussian marginals")
        jac = _LOG_JACOBIAN[transform]

        def density(t: float) -> float:
            return float(jac(np.array(t))) * math.exp(-0.5 * t * t) / math.sqrt(2 * math.pi)

        # both maps are odd, so log|g'| is even; split at 1 for the integrable log singularity at 0
        per_dim = 2.0 * (integrate.quad(density, 0.0, 1.0)[0] + integrate.quad(density, 1.0, 40.0)[0])
        h_y += len(y_cov) * per_dim
    family = "gaussian" if nu is None else "student-t"
    return Task(name, description, dims, truth, family, sample_latent, log_ratio, transform, float(h_y))


def _uniform_task(eps: float) -> Task:
    def sample_latent(n: int, rng: np.random.Generator) -> list[Array]:
        x = rng.uniform(0.0, 1.0, size=(n, 1))
        return [x, x + rng.uniform(-eps, eps, size=(n, 1))]

    def log_ratio(parts: list[Array]) -> Array:
        x, y = parts[0][:, 0], parts[1][:, 0]
        overlap = np.clip(np.minimum(y + eps, 1.0) - np.maximum(y - eps, 0.0), 1e-300, None)
        with np.errstate(divide="ignore"):
            return np.where(np.abs(y - x) <= eps, -np.log(overlap), -np.inf)

    truth = uniform_mi(eps)
    h_y = truth + math.log(2.0 * eps)  # h(Y) = I + h(Y | X)
    return Task(
        f"uniform-eps{eps:g}",
        f"X ~ U(0,1), Y = X + U(-{eps:g}, {eps:g})",
        (1, 1),
        truth,
        "uniform",
        sample_latent,
        log_ratio,
        "identity",
        h_y,
    )


def _build_tasks() -> dict[str, Task]:
    tasks: list[Task] = []
    for rho in (0.0, 0.5, 0.75, 0.9):
        cov = dense_correlation(2, rho)
        tasks.append(
            _elliptical_task(
                f"gauss-1d-rho{rho:g}", f"1x1 Gaussian, rho={rho:g}", cov, (1, 1), None, "identity"
            )
        )
    for d in (2, 3, 5, 25):
        cov = dense_correlation(2 * d, 0.5)
        tasks.append(
            _elliptical_task(
                f"gauss-dense-{d}d", f"{d}x{d} Gaussian, all correlations 0.5", cov, (d, d), None, "identity"
            )
        )
    pairs = np.kron(np.eye(2), np.eye(5)) + 0.5 * np.kron(np.array([[0, 1], [1, 0]]), np.eye(5))
    tasks.append(
        _elliptical_task(
            "gauss-pairs-5d", "5 independent pairs, rho=0.5 each", pairs, (5, 5), None, "identity"
        )
    )
    tasks.append(
        _elliptical_task(
            "student-t-1d-nu1", "1x1 Student-t, nu=1, identity dispersion", np.eye(2), (1, 1), 1.0, "identity"
        )
    )
    tasks.append(
        _elliptical_task(
            "student-t-2d-nu1", "2x2 Student-t, nu=1, identity dispersion", np.eye(4), (2, 2), 1.0, "identity"
        )
    )
    tasks.append(_uniform_task(0.25))
    for transform in ("asinh", "x-sqrt-abs-x"):
        tasks.append(
            _elliptical_task(
                f"{transform}-gauss-1d-rho0.75",
                f"{transform} of 1x1 Gaussian rho=0.75",
                dense_correlation(2, 0.75),
                (1, 1),
                None,
                transform,
            )
        )
    tasks.append(
        _elliptical_task(
            "tc-gauss-3x1",
            "3 scalar Gaussians, all correlations 0.5 (total correlation)",
            dense_correlation(3, 0.5),
            (1, 1, 1),
            None,
            "identity",
        )
    )
    tasks.append(
        _elliptical_task(
            "tc-gauss-3x2",
            "3 Gaussian 2-d vectors, all correlations 0.3 (total correlation)",
            dense_correlation(6, 0.3),
            (2, 2, 2),
            None,
            "identity",
        )
    )
    return {t.name: t for t in tasks}


TASKS: dict[str, Task] = _build_tasks()
DEFAULT_TASKS: tuple[str, ...] = (
    "gauss-1d-rho0",
    "gauss-1d-rho0.5",
    "gauss-1d-rho0.75",
    "gauss-1d-rho0.9",
    "gauss-dense-2d",
    "gauss-dense-5d",
    "gauss-dense-25d",
    "student-t-1d-nu1",
    "student-t-2d-nu1",
    "uniform-eps0.25",
    "asinh-gauss-1d-rho0.75",
    "tc-gauss-3x1",
)
"""Tasks of the default check (every other task runs with ``--tasks``)."""


def get_task(name: str) -> Task:
    """Returns the task called ``name`` or raises a ConfigError listing the choices."""
    try:
        return TASKS[name]
    except KeyError:
        raise ConfigError(f"unknown task {name!r}; choose one of: {', '.join(TASKS)}") from None


def monte_carlo_js(task: Task, n: int, rng: np.random.Generator) -> tuple[float, float]:
    """Deep InfoMax JS value at the optimal critic T* = log p/q, by Monte Carlo with the known densities.

    sup_T E_P[-softplus(-T)] - E_Q[softplus(T)] = 2 JSD(P || Q) - 2 log 2 (reached at T* = log p/q),
    P the joint and Q the product of marginals (Q sampled by shuffling each variable but the first).

    Returns:
        (value in the Deep InfoMax form, its Monte Carlo standard error).
    """
    parts = task.sample_latent(n, rng)
    shuffled = [parts[0]] + [p[rng.permutation(n)] for p in parts[1:]]
    t_joint, t_marg = task.log_ratio(parts), task.log_ratio(shuffled)
    values = -np.logaddexp(0.0, -t_joint) - np.logaddexp(0.0, t_marg)
    return float(values.mean()), float(values.std() / math.sqrt(n))


def dim_to_jsd(value: float) -> float:
    """Converts a Deep InfoMax JS value (2 JSD - 2 log 2) into the JS divergence in nats, in [0, log 2]."""
    return value / 2.0 + math.log(2.0)
