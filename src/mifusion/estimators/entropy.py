"""Label-split Gaussian-mixture entropy with a memory of earlier batches (Han et al., MMIM, EMNLP 2021).

H(Y) is approximated by a mixture of one Gaussian per label group (positive vs negative labels; zeros
dropped), each with the full sample covariance of the group over the current batch plus the last
``memory_size`` batches (memory entries detached). Two forms:

- ``"gaussian"`` (default): ``sum_g pi_g 1/2 log det(2 pi e (S_g + eps tr(S_g)/D I)) + H(pi)``, the entropy
  of a mixture with well-separated components; the ridge is relative to the group's variance, so
  ``H(s y) = H(y) + D log s`` exactly and the term pairs soundly with a log-likelihood on the same y.
- ``"reference"``: MMIM's ``1/4 (log det S_pos + log det S_neg)`` (constants dropped) with the reference
  code's biased covariance (divided by n); the ridge ``eps`` is added when positive (parity uses 0).

A group with fewer than ``min_group_samples`` rows is left out; when no group is left, the term is
skipped (zero, no gradient) and counted, never NaN.

Example:
    >>> import torch
    >>> g = torch.Generator().manual_seed(0)
    >>> y = torch.randn(4000, 2, generator=g)
    >>> out = label_split_entropy(y, torch.ones(4000))
    >>> round(float(out.value), 1)  # closed form: log(2 pi e) = 2.84
    2.8
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import Tensor, nn

from mifusion.errors import ConfigError
from mifusion.estimators.critics import SCALE_FLOOR
from mifusion.estimators.functional import gaussian_entropy

ENTROPY_FORMS = ("gaussian", "reference")


class EntropyEstimate(NamedTuple):
    """``value`` (scalar nats, zero when skipped), whether it was ``skipped``, groups used and left out."""

    value: Tensor
    skipped: bool
    groups_used: int
    groups_left_out: int


def _covariance(y: Tensor, eps: float, ddof: int = 1) -> Tensor:
    centered = y - y.mean(0, keepdim=True)
    cov = centered.T @ centered / (y.shape[0] - ddof)  # (D, D)
    if eps <= 0:
        return cov
    scale = torch.clamp(cov.diagonal().mean(), min=SCALE_FLOOR**2)
    return cov + eps * scale * torch.eye(y.shape[1], device=y.device, dtype=y.dtype)


def label_split_entropy(
    y: Tensor,
    labels: Tensor,
    memory_y: Tensor | None = None,
    memory_labels: Tensor | None = None,
    *,
    form: str = "gaussian",
    eps: float = 1e-3,
    min_group_samples: int = 2,
) -> EntropyEstimate:
    """Entropy of (B, D) y from a Gaussian per label-sign group over the batch plus (detached) memory.

    Args:
        y: (B, D) current batch (gradients flow through it).
        labels: (B,) real-valued labels; the groups are labels > 0 and labels < 0.
        memory_y: (M, D) rows of earlier batches, or None.
        memory_labels: (M,) their labels.
        form: "gaussian" or "reference" (see module docstring).
        eps: relative ridge added to each covariance.
        min_group_samples: smaller groups are left out.
    """
    if form not in ENTROPY_FORMS:
        raise ConfigError(f"unknown entropy form {form!r}; choose one of: {', '.join(ENTROPY_FORMS)}")
    if memory_y is not None and memory_labels is not None and memory_y.shape[0] > 0:
        rows = torch.cat([y, memory_y.detach().to(y)])
        signs = torch.cat([labels, memory_labels.to(labels)])
    else:
        rows, signs = y, labels
    groups = [rows[signs > 0], rows[signs < 0]]
    present = [g for g in groups if g.shape[0] > 0]
    used = [g for g in present if g.shape[0] >= max(min_group_samples, 2)]
    left_out = len(present) - len(used)
    if not used:
        return EntropyEstimate(y.sum() * 0.0, True, 0, left_out)
    if form == "reference":
        logdets = [torch.logdet(_covariance(g, eps, ddof=0)) for g in used]
        return EntropyEstimate(0.25 * torch.stack(logdets).sum(), False, len(used), left_out)
    total = sum(g.shape[0] for g in used)
    weights = [g.shape[0] / total for g in used]
    parts = [w * gaussian_entropy(_covariance(g, eps)) for w, g in zip(weights, used)]
    value = torch.stack(parts).sum() - sum(w * math.log(w) for w in weights)
    return EntropyEstimate(value, False, len(used), left_out)


class LabelSplitEntropy(nn.Module):
    """:func:`label_split_entropy` with a memory of the last ``memory_size`` training batches.

    Args:
        memory_size: number of earlier batches kept (MMIM: 1); 0 disables the memory.
        form: see :func:`label_split_entropy`.
        eps: see :func:`label_split_entropy`.
        min_group_samples: see :func:`label_split_entropy`.
        require_memory: skip the term (value zero) while the memory is empty, as the reference code does
            for the first batch of each epoch; the batch still joins the memory.

    The memory is part of the module's state (``get_extra_state``), so a resumed run continues with the
    same memory as an uninterrupted one.
    """

    def __init__(
        self,
        *,
        memory_size: int = 1,
        form: str = "gaussian",
        eps: float = 1e-3,
        min_group_samples: int = 2,
        require_memory: bool = False,
    ) -> None:
        super().__init__()
        if form not in ENTROPY_FORMS:
            raise ConfigError(f"unknown entropy form {form!r}; choose one of: {', '.join(ENTROPY_FORMS)}")
        self.memory_size = memory_size
        self.form = form
        self.eps = eps
        self.min_group_samples = min_group_samples
        self.require_memory = require_memory
        self._memory: list[tuple[Tensor, Tensor]] = []
        self.skipped_count: Tensor
        self.register_buffer("skipped_count", torch.zeros((), dtype=torch.long))

    def reset_memory(self) -> None:
        """Forgets the stored batches."""
        self._memory = []

    def get_extra_state(self) -> dict[str, list[tuple[Tensor, Tensor]]]:
        """The memory, saved with the module's state dict (exact resume)."""
        return {"memory": list(self._memory)}

    def set_extra_state(self, state: dict[str, list[tuple[Tensor, Tensor]]]) -> None:
        """Restores the memory saved by :meth:`get_extra_state`."""
        self._memory = [(y, labels) for y, labels in state.get("memory", [])]

    def forward(self, y: Tensor, labels: Tensor) -> EntropyEstimate:
        """Entropy of (B, D) y with (B,) labels; in training mode the batch then joins the memory."""
        memory_y = torch.cat([m[0] for m in self._memory]) if self._memory else None
        memory_labels = torch.cat([m[1] for m in self._memory]) if self._memory else None
        if self.require_memory and memory_y is None:
            out = EntropyEstimate(y.sum() * 0.0, True, 0, 0)
        else:
            out = label_split_entropy(
                y,
                labels,
                memory_y,
                memory_labels,
                form=self.form,
                eps=self.eps,
                min_group_samples=self.min_group_samples,
            )
            if out.skipped:
                self.skipped_count += 1
        if self.training and self.memory_size > 0:
            self._memory = [*self._memory, (y.detach(), labels.detach())][-self.memory_size :]
        return out
