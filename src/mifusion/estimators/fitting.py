"""Fit an estimator on samples, read its estimate on held-out batches, and bootstrap an interval.

One loop shared by the ground-truth check (:mod:`mifusion.evaluation.estimator_check`) and
:func:`mifusion.estimators.estimate.estimate_mi`: Adam at ``lr`` on the estimator's own ``loss`` for
``steps`` steps of ``batch_size`` rows drawn with replacement from the training rows; a non-finite loss or
estimate stops the fit (``diverged``). The estimate is the mean of the estimator's ``estimate`` over the
consecutive held-out batches of ``batch_size`` rows (eval mode, no gradients); its interval is a
percentile bootstrap over those batches (and over seeds, when there are several).

Example:
    >>> bootstrap_interval([[0.1, 0.2, 0.3, 0.2]], n_boot=200)[0] < 0.2
    True
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor

from mifusion.estimators.base import MIEstimator, MIOutput


@dataclass
class Fit:
    """What :func:`fit` did: the held-out curve (step, mean estimate), divergence, steps and time."""

    curve: list[tuple[int, float]] = field(default_factory=list)
    diverged: bool = False
    steps: int = 0
    train_seconds: float = 0.0
    last: MIOutput | None = None


def heldout_estimates(
    estimator: MIEstimator, data: Sequence[Tensor], batch_size: int, max_batches: int | None = None
) -> np.ndarray:
    """The estimate on each consecutive held-out batch of ``batch_size`` rows (eval mode, no gradients)."""
    n = data[0].shape[0]
    values = []
    was_training = estimator.training
    estimator.eval()
    with torch.no_grad():
        for i, start in enumerate(range(0, n - batch_size + 1, batch_size)):
            if max_batches is not None and i >= max_batches:
                break
            out = estimator(*(d[start : start + batch_size] for d in data))
            values.append(float(out.estimate))
    estimator.train(was_training)
    return np.asarray(values, dtype=float)


def fit(
    estimator: MIEstimator,
    train: Sequence[Tensor],
    heldout: Sequence[Tensor],
    *,
    steps: int,
    batch_size: int,
    lr: float,
    seed: int,
    curve_points: int = 15,
    curve_batches: int | None = 4,
) -> Fit:
    """Trains ``estimator`` on ``train`` and records the held-out curve at ``curve_points`` steps."""
    optimiser = torch.optim.Adam(estimator.parameters(), lr=lr)
    every = max(1, steps // max(1, curve_points))
    generator = torch.Generator().manual_seed(seed)
    n = train[0].shape[0]
    result = Fit()
    step = 0
    for step in range(1, steps + 1):
        start = time.perf_counter()
        index = torch.randint(0, n, (batch_size,), generator=generator)
        out = estimator(*(d[index] for d in train))
        result.last = out
        if not (torch.isfinite(out.loss) and torch.isfinite(out.estimate)):
            result.diverged = True
            break
        optimiser.zero_grad(set_to_none=True)
        out.loss.backward()
        optimiser.step()
        result.train_seconds += time.perf_counter() - start
        if step % every == 0 or step == steps:
            values = heldout_estimates(estimator, heldout, batch_size, curve_batches)
            result.curve.append((step, float(values.mean())))
    result.steps = step
    return result


def bootstrap_interval(
    batches: Sequence[Sequence[float]], level: float = 0.95, n_boot: int = 2000, seed: int = 0
) -> tuple[float, float]:
    """Percentile interval of the mean over seeds of each seed's mean held-out batch estimate.

    ``batches[s]`` holds seed s's per-batch estimates. Each replicate resamples the seeds (when there
    are several) and, within each, its batches, with replacement. NaN when any value is not finite.
    """
    arrays = [np.asarray(b, dtype=float) for b in batches if len(b)]
    if not arrays or not all(np.isfinite(a).all() for a in arrays):
        return math.nan, math.nan
    rng = np.random.default_rng(seed)
    seed_means = np.stack([a[rng.integers(0, len(a), size=(n_boot, len(a)))].mean(axis=1) for a in arrays])
    if len(arrays) > 1:
        pick = rng.integers(0, len(arrays), size=(n_boot, len(arrays)))
        reps = np.take_along_axis(seed_means.T, pick, axis=1).mean(axis=1)
    else:
        reps = seed_means[0]
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(reps, [tail, 1.0 - tail])
    return float(low), float(high)


def still_rising(curve: Sequence[tuple[int, float]], interval: tuple[float, float]) -> bool:
    """Whether the held-out curve still climbs over its last third by more than the interval's width."""
    if len(curve) < 3 or not all(math.isfinite(v) for v in interval):
        return False
    values = [v for _, v in curve]
    third = max(1, len(values) // 3)
    rise = float(np.mean(values[-third:]) - np.mean(values[-2 * third : -third]))
    return rise > max(interval[1] - interval[0], 1e-3)
