"""The 40 tasks of the 'Beyond Normal' benchmark (Czyz et al., NeurIPS 2023), natively in numpy/scipy.

Each task is a :class:`~mifusion.estimators.ground_truth.Task` whose latent law has a closed-form MI
(bivariate and multivariate normal, multivariate Student-t with identity dispersion, additive uniform
noise) observed through injective maps, which leave MI unchanged: the normal CDF, the half-cube
``x sqrt|x|``, asinh, the 'wiggly' maps, the bimodal inverse CDFs, the swiss roll (1 -> 2 dimensions) and
the spiral ``x -> exp(speed |x|^2 A) x`` (a rotation in one coordinate plane). Task names are the
benchmark-mi package's task ids (``task_list.BENCHMARK_TASKS_LIST``), so results line up with the paper's.

Dense multinormal: unit variances, every correlation 0.5. '2-pair' (sparse): X_1-Y_1 and X_2-Y_2
correlated with 0.8 (the package's latent model with lambda = eta = 2, epsilon = 1), all else
independent, so I = -log(1 - 0.64) = 1.02165 nats in every dimension.

Example:
    >>> task = BEYOND_NORMAL["spiral-multinormal-sparse-3-3-2-2.0"]
    >>> round(task.truth, 5), task.dims
    (1.02165, (3, 3))
    >>> x, y = task.sample_arrays(5, np.random.default_rng(0))
    >>> x.shape, y.shape
    ((5, 3), (5, 3))
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import numpy as np
from scipy import special

from mifusion.errors import ConfigError
from mifusion.estimators.closed_form import dense_correlation
from mifusion.estimators.ground_truth import TASKS, Task, _elliptical_task, _uniform_task

Array = np.ndarray
Map = Callable[[Array], Array]
PAIR_CORRELATION = 0.8
"""lambda^2 / (lambda^2 + epsilon^2) of the package's 2-pair model (lambda = 2, epsilon = 1)."""


def half_cube(v: Array) -> Array:
    return v * np.sqrt(np.abs(v))


def wiggly_x(v: Array) -> Array:
    return v + 0.4 * np.sin(v) + 0.2 * np.sin(1.7 * v + 1) + 0.03 * np.sin(3.3 * v - 2.5)


def wiggly_y(v: Array) -> Array:
    return v - 0.4 * np.sin(0.4 * v) + 0.17 * np.sin(1.3 * v + 3.5) + 0.02 * np.sin(4.3 * v - 2.5)


def swiss_roll(u: Array) -> Array:
    """(n, 1) in [0, 1] -> (n, 2) on the swiss roll (scaled by 1/21 as in the package)."""
    t = 1.5 * np.pi * (1.0 + 2.0 * u[:, 0])
    return np.stack([t * np.cos(t), t * np.sin(t)], axis=1) / 21.0


def inverse_cdf(cdf: Map, p: Array, low: float = -10.0, high: float = 10.0, steps: int = 64) -> Array:
    """Vectorised bisection for x with cdf(x) = p (cdf strictly increasing on [low, high])."""
    lo, hi = np.full_like(p, low), np.full_like(p, high)
    for _ in range(steps):
        mid = 0.5 * (lo + hi)
        below = cdf(mid) < p
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    return 0.5 * (lo + hi)


def bimodal_x(v: Array) -> Array:
    """X of the bimodal task: N(0, 1) -> the mixture 0.3 N(0, 1) + 0.7 N(5, 1) by inverse CDF."""
    return inverse_cdf(lambda t: 0.3 * special.ndtr(t) + 0.7 * special.ndtr(t - 5.0), special.ndtr(v))


def bimodal_y(v: Array) -> Array:
    """Y of the bimodal task: N(0, 1) -> 0.5 N(-1, 1) + 0.5 N(3, 1) by inverse CDF."""
    return inverse_cdf(lambda t: 0.5 * special.ndtr(t + 1.0) + 0.5 * special.ndtr(t - 3.0), special.ndtr(v))


def spiral(v: Array, plane: tuple[int, int], speed: float) -> Array:
    """x -> exp(speed |x|^2 A) x with A the so(n) generator of ``plane`` (A[i, j] = -1, A[j, i] = 1)."""
    i, j = plane
    angle = speed * (v**2).sum(axis=1)
    cos, sin = np.cos(angle), np.sin(angle)
    out = v.copy()
    out[:, i] = cos * v[:, i] - sin * v[:, j]
    out[:, j] = sin * v[:, i] + cos * v[:, j]
    return out


def _spiral_pair(parts: list[Array]) -> list[Array]:
    x, y = parts
    return [spiral(x, (0, 1), 1.0 / x.shape[1]), spiral(y, (1, 2), 1.0 / y.shape[1])]


def _observed(base: Task, name: str, description: str, observe: Callable[[list[Array]], list[Array]]) -> Task:
    """``base`` seen through ``observe`` (applied after any map ``base`` already has)."""
    inner = base.observe

    def composed(latent: list[Array]) -> list[Array]:
        return observe(inner(latent) if inner is not None else latent)

    dims = tuple(v.shape[1] for v in composed(base.sample_latent(2, np.random.default_rng(0))))
    return dataclasses.replace(
        base, name=name, description=description, dims=dims, observe=composed, entropy_y=None
    )


def _each(fx: Map, fy: Map | None = None) -> Callable[[list[Array]], list[Array]]:
    return lambda parts: [fx(parts[0]), (fy or fx)(parts[1])]


def _normal(rho: float) -> Task:
    return _elliptical_task(
        f"1v1-normal-{rho}", "Bivariate normal 1 x 1", dense_correlation(2, rho), (1, 1), None, "identity"
    )


def _dense(d: int) -> Task:
    cov = dense_correlation(2 * d, 0.5)
    return _elliptical_task(
        f"multinormal-dense-{d}-{d}-0.5", f"Multinormal {d} x {d} (dense)", cov, (d, d), None, "identity"
    )


def _two_pair(d: int) -> Task:
    cov = np.eye(2 * d)
    for k in range(2):
        cov[k, d + k] = cov[d + k, k] = PAIR_CORRELATION
    return _elliptical_task(
        f"multinormal-sparse-{d}-{d}-2-2.0", f"Multinormal {d} x {d} (2-pair)", cov, (d, d), None, "identity"
    )


def _student(d: int, nu: int) -> Task:
    return _elliptical_task(
        f"student-identity-{d}-{d}-{nu}",
        f"Student-t {d} x {d} (dof={nu})",
        np.eye(2 * d),
        (d, d),
        float(nu),
        "identity",
    )


def _additive(eps: float) -> Task:
    base = _uniform_task(eps)
    return dataclasses.replace(
        base, name=f"1v1-additive-{eps}", description=f"Uniform 1 x 1 (additive noise={eps})"
    )


def _normal_cdf(base: Task) -> Task:
    return _observed(base, f"normal_cdf-{base.name}", f"Normal CDF @ {base.description}", _each(special.ndtr))


def _half_cube(base: Task) -> Task:
    return _observed(base, f"half_cube-{base.name}", f"Half-cube @ {base.description}", _each(half_cube))


def _asinh(base: Task) -> Task:
    return _observed(base, f"asinh-{base.name}", f"Asinh @ {base.description}", _each(np.arcsinh))


def _spiral(base: Task) -> Task:
    return _observed(base, f"spiral-{base.name}", f"Spiral @ {base.description}", _spiral_pair)


def _build() -> dict[str, Task]:
    normal = _normal(0.75)
    uniform = _normal_cdf(normal)
    bistudent = _student(1, 1)
    bimodal = _observed(_normal(0.75), "1v1-bimodal-0.75", "Bimodal 1 x 1", _each(bimodal_x, bimodal_y))
    wiggly = _observed(
        normal, f"wiggly-{normal.name}", "Wiggly @ Bivariate normal 1 x 1", _each(wiggly_x, wiggly_y)
    )
    one_dim = [
        normal,
        uniform,
        _additive(0.1),
        _additive(0.75),
        bimodal,
        wiggly,
        _half_cube(normal),
        bistudent,
        _asinh(bistudent),
    ]
    roll = _observed(
        uniform, f"swissroll_x-{uniform.name}", "Swiss roll 2 x 1", lambda p: [swiss_roll(p[0]), p[1]]
    )
    multinormal = [_dense(d) for d in (2, 3, 5, 25, 50)] + [_two_pair(d) for d in (2, 3, 5, 25)]
    student = [_student(d, nu) for d, nu in ((2, 1), (2, 2), (3, 2), (3, 3), (5, 2), (5, 3))]
    pairs = [_two_pair(d) for d in (3, 5, 25)]
    transformed = (
        [_normal_cdf(t) for t in pairs]
        + [_half_cube(t) for t in pairs]
        + [_spiral(t) for t in pairs]
        + [_spiral(_normal_cdf(t)) for t in pairs]
        + [_asinh(_student(d, nu)) for d, nu in ((2, 1), (3, 2), (5, 2))]
    )
    tasks = [*one_dim, roll, *multinormal, *student, *transformed]
    return {t.name: t for t in tasks}


BEYOND_NORMAL: dict[str, Task] = _build()
"""The 40 benchmark tasks by the package's task id, in the package's order."""


def find_task(name: str) -> Task:
    """A task of :data:`~mifusion.estimators.ground_truth.TASKS` or :data:`BEYOND_NORMAL` by name."""
    found = TASKS.get(name) or BEYOND_NORMAL.get(name)
    if found is None:
        raise ConfigError(
            f"unknown task {name!r}; see 'mifusion estimators tasks' and 'mifusion estimators tasks "
            "--suite beyond-normal'"
        )
    return found


def graded(task: Task, max_truth: float = 2.0) -> bool:
    """Whether the benchmark's accuracy target covers ``task`` (truth at most ``max_truth`` nats)."""
    return task.truth <= max_truth + 1e-12 and math.isfinite(task.truth)
