"""Estimate I(X; Y) from your own paired arrays, with an interval, the bound's direction and warnings.

A trained estimator (a registered family, built with its registry defaults and ``options``) is fitted on a
random half of the rows (:func:`mifusion.estimators.fitting.fit`) and read out on the other half: the
estimate is the mean over the held-out batches, the interval a percentile bootstrap over those batches.
A classical estimator (``ksg``, ``cca``) is evaluated on consecutive blocks of ``block`` rows of all the
data, its interval a bootstrap over the blocks. Warnings: InfoNCE at its log B ceiling; a held-out curve
still rising over the last third of training (the critic has not converged); a divergence (NaN).

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(2000, 2))
    >>> y = x + rng.normal(size=(2000, 2))  # I = log 2 = 0.693 nats
    >>> result = estimate_mi(x, y, estimator="cca")
    >>> round(result.estimate, 1), result.unit, result.bound
    (0.7, 'nats', 'neither')
    >>> result.low < result.estimate < result.high
    True
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from mifusion.errors import ConfigError
from mifusion.estimators.base import ESTIMATORS
from mifusion.estimators.classical import CLASSICAL
from mifusion.estimators.fitting import bootstrap_interval, fit, heldout_estimates, still_rising

DEFAULT_ESTIMATOR = "smile"
INFONCE_NAMES = ("infonce", "cpc")
CAP_MARGIN = 0.05
"""InfoNCE counts as at its ceiling when the interval reaches within 5 % of log B."""


@dataclass
class MIEstimate:
    """An estimate of I(X; Y) with its interval, what kind of bound it is, and any warnings."""

    estimator: str
    estimate: float
    low: float
    high: float
    level: float
    bound: str
    unit: str
    rows: int
    heldout_rows: int
    curve: list[tuple[int, float]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """Three lines: the estimate with its interval and unit, the bound's direction, the protocol."""
        direction = {
            "lower": "a lower bound: the true MI is at least about this",
            "upper": "an upper bound: the true MI is at most about this",
        }.get(self.bound, "neither a lower nor an upper bound")
        return (
            f"I(X; Y) = {self.estimate:.4f} {self.unit}  ({self.level:.0%} interval {self.low:.4f} .. "
            f"{self.high:.4f})\nestimator: {self.estimator}, {direction}\n"
            f"rows: {self.rows} ({self.heldout_rows} held out for the estimate)"
        )


def check_arrays(x: np.ndarray, y: np.ndarray, batch_size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Returns x, y as float64 (N, D) arrays, or raises a ConfigError naming the problem."""
    arrays = []
    for name, v in (("X", x), ("Y", y)):
        v = np.asarray(v)
        if v.dtype.kind not in "biuf":
            raise ConfigError(f"{name} must be numeric, got dtype {v.dtype}")
        if v.ndim == 1:
            v = v[:, None]
        if v.ndim != 2 or v.shape[1] == 0:
            raise ConfigError(f"{name} must be 1-d or 2-d (rows x features), got shape {v.shape}")
        if not np.isfinite(v).all():
            raise ConfigError(f"{name} has NaN or inf values ({int((~np.isfinite(v)).sum())} of them)")
        arrays.append(v.astype(np.float64))
    if arrays[0].shape[0] != arrays[1].shape[0]:
        raise ConfigError(
            f"X and Y need the same number of rows, got {arrays[0].shape[0]} and {arrays[1].shape[0]}"
        )
    if arrays[0].shape[0] < 4 * batch_size:
        raise ConfigError(
            f"need at least {4 * batch_size} rows (4 batches of {batch_size}), got {arrays[0].shape[0]}"
        )
    return arrays[0], arrays[1]


def load_array(path: str | Path) -> np.ndarray:
    """Reads a .npy, a one-array .npz (or ``file.npz:key``) or a numeric .csv (header row allowed)."""
    text = str(path)
    key = None
    if ".npz:" in text:
        text, key = text.split(".npz:", 1)
        text += ".npz"
    file = Path(text)
    if not file.is_file():
        raise ConfigError(f"no such file: {file}")
    suffix = file.suffix.lower()
    try:
        if suffix == ".npy":
            return np.load(file, allow_pickle=False)
        if suffix == ".npz":
            with np.load(file, allow_pickle=False) as data:
                names = list(data.files)
                if key is None and len(names) != 1:
                    raise ConfigError(
                        f"{file} holds {len(names)} arrays ({', '.join(names)}); name one as {file}:KEY"
                    )
                if key is not None and key not in names:
                    raise ConfigError(f"{file} has no array {key!r}; it holds {', '.join(names)}")
                return data[key or names[0]]
        if suffix == ".csv":
            try:
                return np.loadtxt(file, delimiter=",", ndmin=2)
            except ValueError:
                return np.loadtxt(file, delimiter=",", ndmin=2, skiprows=1)
    except (OSError, ValueError, EOFError) as err:
        raise ConfigError(f"cannot read {file}: {err}") from err
    raise ConfigError(f"{file}: expected a .npy, .npz or .csv file")


def _classical(name: str, x: np.ndarray, y: np.ndarray, block: int, level: float, n_boot: int) -> MIEstimate:
    block = min(block, x.shape[0])
    values = [
        CLASSICAL[name](x[i : i + block], y[i : i + block]) for i in range(0, x.shape[0] - block + 1, block)
    ]
    low, high = bootstrap_interval([values], level, n_boot)
    return MIEstimate(
        name, float(np.mean(values)), low, high, level, "neither", "nats", x.shape[0], x.shape[0]
    )


def estimate_mi(
    x: np.ndarray,
    y: np.ndarray,
    *,
    estimator: str = DEFAULT_ESTIMATOR,
    steps: int = 1_000,
    batch_size: int = 64,
    lr: float = 5e-4,
    heldout_fraction: float = 0.5,
    seed: int = 0,
    level: float = 0.95,
    n_boot: int = 2_000,
    block: int = 1_000,
    **options: object,
) -> MIEstimate:
    """Estimates I(X; Y) from paired rows of ``x`` (N, Dx) and ``y`` (N, Dy).

    Args:
        estimator: a registered family (``mifusion list estimators``) or ``ksg`` / ``cca``.
        steps, batch_size, lr: the fit of a trained estimator (Adam on its own loss).
        heldout_fraction: share of the rows (randomly chosen) held out for the estimate.
        seed: the row split, the initialisation and the batches.
        level, n_boot: the bootstrap interval. block: rows per block of a classical estimator.
        options: passed to the family's builder (e.g. ``critic="joint"``).

    Raises:
        ConfigError: bad arrays, an unknown estimator, or settings out of range.
    """
    x, y = check_arrays(x, y, batch_size)
    if not 0.0 < heldout_fraction < 1.0 or steps < 1 or not 0.0 < level < 1.0:
        raise ConfigError("need 0 < heldout_fraction < 1, steps >= 1 and 0 < level < 1")
    if estimator in CLASSICAL:
        return _classical(estimator, x, y, block, level, n_boot)
    entry = ESTIMATORS.get(estimator)
    if entry.measures != "mi":
        raise ConfigError(f"{estimator!r} estimates {entry.measures}, not mutual information")
    n = x.shape[0]
    order = np.random.default_rng(seed).permutation(n)
    held = max(2 * batch_size, round(heldout_fraction * n))
    if n - held < batch_size:
        raise ConfigError(f"too few training rows ({n - held}) for batch size {batch_size}")
    xt, yt = (torch.from_numpy(v[order]).float() for v in (x, y))
    train, heldout = [xt[held:], yt[held:]], [xt[:held], yt[:held]]
    torch.manual_seed(seed)
    module = entry.builder(x.shape[1], y.shape[1], **options)
    result = fit(module, train, heldout, steps=steps, batch_size=batch_size, lr=lr, seed=seed)
    values = heldout_estimates(module, heldout, batch_size) if not result.diverged else np.array([math.nan])
    low, high = bootstrap_interval([values.tolist()], level, n_boot)
    out = MIEstimate(
        estimator,
        float(values.mean()),
        low,
        high,
        level,
        entry.bound.value,
        module.unit,
        n,
        held,
        result.curve,
    )
    out.warnings = diagnose(estimator, out.estimate, (low, high), batch_size, result.curve, result.steps)
    return out


def diagnose(
    estimator: str,
    estimate: float,
    interval: tuple[float, float],
    batch_size: int,
    curve: list[tuple[int, float]],
    steps: int,
) -> list[str]:
    """The warnings of an estimate: divergence, InfoNCE at log B, a held-out curve still rising."""
    warnings = []
    if not math.isfinite(estimate):
        warnings.append(f"the fit diverged (NaN/inf by step {steps}); try a lower lr or another estimator")
    capped = math.isfinite(interval[1]) and interval[1] >= (1 - CAP_MARGIN) * math.log(batch_size)
    if estimator in INFONCE_NAMES and capped:
        warnings.append(
            f"InfoNCE is at its ceiling log B = {math.log(batch_size):.3f} nats (B = {batch_size}): the true "
            "MI may be higher; raise the batch size or use another estimator"
        )
    if still_rising(curve, interval):
        warnings.append(
            "the held-out estimate was still rising over the last third of training (critic not converged); "
            "raise the steps"
        )
    return warnings
