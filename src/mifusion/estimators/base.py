"""Common types of every mutual-information and dependency estimator.

An estimator reports its ``estimate`` (nats, or the divergence's own unit), differentiable with respect to
its inputs, apart from the ``loss`` that its own parameters (critic, variational network) minimise, and
declares whether the estimate is a lower bound, an upper bound or neither.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import ClassVar

from torch import Tensor, nn

from mifusion.registry import Registry


class Bound(str, Enum):
    """What the estimate is with respect to the true quantity."""

    LOWER = "lower"
    UPPER = "upper"
    NEITHER = "neither"


@dataclass
class MIOutput:
    """Result of one estimator call.

    Attributes:
        estimate: scalar estimate in ``unit``; gradients flow to the inputs (and the critic).
        loss: scalar that the estimator's own parameters minimise (may differ from ``-estimate``,
            e.g. a gradient penalty or the MINE moving-average correction).
        diagnostics: extra scalars worth logging (detached).
    """

    estimate: Tensor
    loss: Tensor
    diagnostics: dict[str, Tensor] = field(default_factory=dict)


class EstimatorModule(nn.Module):
    """Marker base class: parameters of these modules belong to the trainer's ``estimator`` group."""


class MIEstimator(EstimatorModule):
    """An estimator of I(X; Y) (or of a dependency measure) from paired samples x (B, Dx), y (B, Dy)."""

    bound: ClassVar[Bound] = Bound.NEITHER
    unit: ClassVar[str] = "nats"

    def forward(self, x: Tensor, y: Tensor) -> MIOutput:  # pragma: no cover - interface
        raise NotImplementedError


@dataclass(frozen=True)
class EstimatorEntry:
    """A registered estimator family.

    Attributes:
        builder: ``builder(x_dim, y_dim, *, hidden_dim=128, num_layers=2, critic="joint",
            negatives="derangement", **family_options) -> MIEstimator``.
        bound: what the estimate is relative to the true quantity.
        measures: "mi" when the estimate is in nats of mutual information, else the divergence's name
            (e.g. "js", "wasserstein").
        summary: one line for ``mifusion list estimators``.
        reference: the paper it comes from.
    """

    builder: Callable[..., MIEstimator]
    bound: Bound
    measures: str = "mi"
    summary: str = ""
    reference: str = ""


ESTIMATORS: Registry[EstimatorEntry] = Registry("estimator")
