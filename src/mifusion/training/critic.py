"""Extra critic steps (``penalty.critic_steps``) on the same detached representations, no encoder re-run.

A model opts in with ``estimator_loss_from(out, batch) -> Tensor`` (a loss for all its estimator
parameters, from the forward output ``out``); a :class:`~mifusion.models.penalized.PenalizedModel`
needs nothing: its dependency penalty is re-evaluated on ``out``'s tapped representations, detached, and
only the penalty's critic parameters take the extra steps.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, NamedTuple

import torch
from torch import Tensor, nn

from mifusion.data.batch import MultimodalBatch
from mifusion.models.base import ModelOutput

CriticLoss = Callable[[ModelOutput, MultimodalBatch], Tensor]


class CriticSteps(NamedTuple):
    """How to take one more critic step: the loss on ``out``'s detached representations, and its parameters."""

    loss: CriticLoss
    params: list[nn.Parameter]


def penalty_critic_loss(model: Any, out: ModelOutput, batch: MultimodalBatch) -> Tensor:
    """The penalty critic's loss on ``out``'s representations, detached, exactly as the penalty taps them."""
    reps = {m: out.unimodal[m].detach() for m in model.unimodal_dims}  # modality -> (B, D_m)
    available = {m: batch.present[m] for m in reps if m in batch.present}
    if model.tap == "fused":
        assert out.fused is not None, "tap='fused' needs a model with a fused vector"
        reps = {"fused": out.fused.detach(), **reps}
        available["fused"] = torch.ones_like(out.prediction, dtype=torch.bool)
    loss: Tensor = model.penalty(reps, available).critic_loss
    return loss


def critic_steps_for(model: nn.Module, estimator_params: list[nn.Parameter]) -> CriticSteps | None:
    """The extra-step recipe of ``model`` (unwrapped), or None when it has none.

    Example::

        >>> critic_steps_for(nn.Linear(2, 1), []) is None
        True
    """
    own = getattr(model, "estimator_loss_from", None)
    if callable(own):
        return CriticSteps(own, list(estimator_params))
    from mifusion.models.penalized import PenalizedModel

    if isinstance(model, PenalizedModel):
        params = [p for p in model.penalty.parameters() if p.requires_grad]
        return CriticSteps(partial(penalty_critic_loss, model), params)
    return None
