"""Pure metric functions with the MSA community's exact conventions (REFERENCE section 5).

Every function takes predictions ``pred`` and targets ``target`` as 1-D numpy arrays or torch tensors
of raw floats and returns a Python float. Accuracies and F1 are fractions in [0, 1] here;
:func:`mifusion.metrics.compute_metrics` reports them in percent as papers do.

Conventions:

- MAE and Corr (Pearson) are computed on the raw, unclipped values.
- Acc-7 clips both to [-3, 3] and Acc-5 to [-2, 2], then rounds with numpy's half-to-even rule
  (``np.round``), as the reference code (MMSA) does.
- ``*_has0``: negative vs non-negative over all samples (``t >= 0`` against ``p >= 0``).
  ``*_non0``: negative vs positive with ``t == 0`` samples removed (``t > 0`` against ``p > 0``);
  NaN when every label is 0 (the metric is undefined, a warning is logged).
- F1 is the weighted F1 with the true labels giving the support weights.
- CH-SIMS (labels in [-1, 1]): predictions clipped to [-1, 1], classes by half-open bins (lo, hi].

Example:
    >>> import numpy as np
    >>> p, t = np.array([0.4, -1.2, 2.5]), np.array([0.5, -1.0, 2.0])
    >>> round(mae(p, t), 4), acc2_has0(p, t), acc7(p, t)
    (0.2667, 1.0, 1.0)
    >>> acc7([2.4], [2.5])  # 2.5 rounds to 2 (half-to-even); half-up would give 3 and 0.0
    1.0
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from mifusion.errors import ShapeError

logger = logging.getLogger(__name__)

SIMS_EDGES: dict[int, tuple[float, ...]] = {
    2: (-1.01, 0.0, 1.01),
    3: (-1.01, -0.1, 0.1, 1.01),
    5: (-1.01, -0.7, -0.1, 0.1, 0.7, 1.01),
}


def as_numpy(values: Any) -> np.ndarray:
    """A flat float64 numpy array from a numpy array, torch tensor or sequence."""
    if hasattr(values, "detach"):  # torch.Tensor, without importing torch
        values = values.detach().cpu().float().numpy()
    return np.asarray(values, dtype=np.float64).reshape(-1)


def _pair(pred: Any, target: Any) -> tuple[np.ndarray, np.ndarray]:
    p, t = as_numpy(pred), as_numpy(target)
    if p.shape != t.shape:
        raise ShapeError(
            f"predictions have {p.size} values but targets have {t.size}; pass one prediction per target"
        )
    return p, t


def mae(pred: Any, target: Any) -> float:
    """Mean absolute error on raw values (no clipping)."""
    p, t = _pair(pred, target)
    return float(np.mean(np.abs(p - t))) if p.size else float("nan")


def corr(pred: Any, target: Any) -> float:
    """Pearson correlation on raw values; NaN (with a logged warning) when either side is constant."""
    p, t = _pair(pred, target)
    if p.size < 2:
        logger.warning("Corr is undefined for fewer than 2 samples; reporting NaN")
        return float("nan")
    # max == min, not a zero deviation from the mean: the float mean of equal values can differ from them
    constant = [side for side, v in (("predictions", p), ("labels", t)) if v.max() == v.min()]
    if constant:
        logger.warning("Corr is undefined because the %s are constant; reporting NaN", " and ".join(constant))
        return float("nan")
    dp, dt = p - p.mean(), t - t.mean()
    denom = float(np.sqrt(np.sum(dp * dp) * np.sum(dt * dt)))
    return float(np.clip(np.sum(dp * dt) / denom, -1.0, 1.0))


def _accuracy(y_pred: np.ndarray, y_true: np.ndarray) -> float:
    return float(np.mean(y_pred == y_true)) if y_true.size else float("nan")


def _rounded_accuracy(pred: Any, target: Any, bound: float) -> float:
    p, t = _pair(pred, target)
    # np.round rounds half to even: 2.5 -> 2, -0.5 -> -0 (REFERENCE 5)
    return _accuracy(np.round(np.clip(p, -bound, bound)), np.round(np.clip(t, -bound, bound)))


def acc7(pred: Any, target: Any) -> float:
    """7-class accuracy: clip both to [-3, 3], round half-to-even, exact match."""
    return _rounded_accuracy(pred, target, 3.0)


def acc5(pred: Any, target: Any) -> float:
    """5-class accuracy: clip both to [-2, 2], round half-to-even, exact match."""
    return _rounded_accuracy(pred, target, 2.0)


def weighted_f1(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Weighted F1 over the classes present in ``y_true`` or ``y_pred``, weights = true support.

    Equals ``sklearn.metrics.f1_score(y_true, y_pred, average="weighted")`` (zero_division=0).
    """
    y_true, y_pred = np.asarray(y_true).reshape(-1), np.asarray(y_pred).reshape(-1)
    if y_true.size == 0:
        return float("nan")
    total = 0.0
    for label in np.union1d(y_true, y_pred):
        tp = float(np.sum((y_pred == label) & (y_true == label)))
        predicted = float(np.sum(y_pred == label))
        support = float(np.sum(y_true == label))
        denom = predicted + support
        f1 = 2.0 * tp / denom if denom > 0 else 0.0
        total += f1 * support
    return total / float(y_true.size)


def _non0(pred: Any, target: Any, name: str) -> tuple[np.ndarray, np.ndarray] | None:
    p, t = _pair(pred, target)
    keep = t != 0
    if not keep.any():
        logger.warning("%s is undefined because every label is 0; reporting NaN", name)
        return None
    return p[keep] > 0, t[keep] > 0


def acc2_has0(pred: Any, target: Any) -> float:
    """Binary accuracy, negative vs non-negative, all samples (``t >= 0`` against ``p >= 0``)."""
    p, t = _pair(pred, target)
    return _accuracy(p >= 0, t >= 0)


def acc2_non0(pred: Any, target: Any) -> float:
    """Binary accuracy, negative vs positive, ``t == 0`` removed (NaN if all labels are 0)."""
    pair = _non0(pred, target, "acc2_non0")
    return float("nan") if pair is None else _accuracy(pair[0], pair[1])


def f1_has0(pred: Any, target: Any) -> float:
    """Weighted F1 of negative vs non-negative over all samples."""
    p, t = _pair(pred, target)
    return weighted_f1(t >= 0, p >= 0)


def f1_non0(pred: Any, target: Any) -> float:
    """Weighted F1 of negative vs positive with ``t == 0`` removed (NaN if all labels are 0)."""
    pair = _non0(pred, target, "f1_non0")
    return float("nan") if pair is None else weighted_f1(pair[1], pair[0])


def sims_classes(values: Any, num_classes: int) -> np.ndarray:
    """Class index per value by the SIMS half-open bins (lo, hi]; values are clipped to [-1, 1]."""
    edges = np.asarray(SIMS_EDGES[num_classes])
    v = np.clip(as_numpy(values), -1.0, 1.0)
    # side="left" gives the index i with edges[i-1] < v <= edges[i]
    return np.searchsorted(edges, v, side="left") - 1


def _sims_accuracy(pred: Any, target: Any, num_classes: int) -> float:
    p, t = _pair(pred, target)
    return _accuracy(sims_classes(p, num_classes), sims_classes(t, num_classes))


def sims_acc2(pred: Any, target: Any) -> float:
    """CH-SIMS 2-class accuracy, bins (-1.01, 0], (0, 1.01]."""
    return _sims_accuracy(pred, target, 2)


def sims_acc3(pred: Any, target: Any) -> float:
    """CH-SIMS 3-class accuracy, bins split at -0.1 and 0.1."""
    return _sims_accuracy(pred, target, 3)


def sims_acc5(pred: Any, target: Any) -> float:
    """CH-SIMS 5-class accuracy, bins split at -0.7, -0.1, 0.1, 0.7."""
    return _sims_accuracy(pred, target, 5)


def sims_f1(pred: Any, target: Any) -> float:
    """CH-SIMS weighted F1 on the 2-class labels (truth as support)."""
    p, t = _pair(pred, target)
    return weighted_f1(sims_classes(t, 2), sims_classes(p, 2))
