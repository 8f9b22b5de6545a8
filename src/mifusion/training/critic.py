"""Extra critic steps (``penalty.critic_steps``) on the same detached representations, no encoder re-run.

A model opts in with ``estimator_loss_from(out, batch) -> Tensor`` (a loss for its estimator parameters,
from the forward output ``out``); :class:`~mifusion.models.penalized.PenalizedModel` implements it by
re-evaluating its dependency penalty on ``out``'s tapped representations, detached.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from torch import Tensor, nn

from mifusion.data.batch import MultimodalBatch
from mifusion.models.base import ModelOutput

CriticLoss = Callable[[ModelOutput, MultimodalBatch], Tensor]


class CriticSteps(NamedTuple):
    """How to take one more critic step: the loss on ``out``'s detached representations, and its parameters."""

    loss: CriticLoss
    params: list[nn.Parameter]


def critic_steps_for(model: nn.Module, estimator_params: list[nn.Parameter]) -> CriticSteps | None:
    """The extra-step recipe of ``model`` (unwrapped), or None when it has none.

    Example::

        >>> critic_steps_for(nn.Linear(2, 1), []) is None
        True
    """
    own = getattr(model, "estimator_loss_from", None)
    return CriticSteps(own, list(estimator_params)) if callable(own) else None
