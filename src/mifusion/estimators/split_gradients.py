"""One estimator forward, two gradients: the estimate's reaches only the inputs, the loss's only the estimator.

A dependency penalty needs both from the same estimator: the encoders maximise the ``estimate`` (its
gradient with respect to the representations) while the critic minimises its own ``loss`` (its gradient
with respect to the critic's parameters). :func:`split_gradients` runs the estimator once and hands back
an :class:`~mifusion.estimators.base.MIOutput` whose two tensors route their gradients apart, exactly as
if the estimate had been computed with the critic frozen and the loss on detached inputs:

- ``estimate``: d estimate / d inputs; no gradient for the estimator's parameters;
- ``loss``: d loss / d parameters; no gradient for the inputs.

So one backward of ``term + critic_loss`` (or one backward each, into separate optimisers) is right for
every family, and the estimator's state advances once per call: running standardisation statistics are
updated once, negatives are drawn once, and the estimate and the loss are computed on the same
standardised inputs and the same negatives.

Example:
    >>> import torch
    >>> from mifusion.estimators import ESTIMATORS
    >>> estimator = ESTIMATORS.get("js").builder(3, 2, hidden_dim=8)
    >>> x, y = torch.randn(16, 3, requires_grad=True), torch.randn(16, 2)
    >>> out = split_gradients(estimator, [x, y])
    >>> out.estimate.backward()
    >>> x.grad is not None, all(p.grad is None for p in estimator.parameters())
    (True, True)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from mifusion.estimators.base import MIEstimator, MIOutput


def split_gradients(estimator: MIEstimator, views: Sequence[Tensor]) -> MIOutput:
    """``estimator(*views)`` run once, with the estimate's gradient routed to ``views`` only and the
    loss's to the estimator's parameters only (see the module docstring).

    Args:
        estimator: any estimator; its forward takes the k views and returns an ``MIOutput``.
        views: k tensors (B, D_i).

    Returns:
        The estimator's output; ``diagnostics`` are its own, detached. Without autograd (``no_grad``) the
        plain forward's output.
    """
    if not torch.is_grad_enabled():
        return estimator(*views)
    params = [p for p in estimator.parameters() if p.requires_grad]
    sink: list[MIOutput] = []
    estimate, loss = _Routed.apply(estimator, sink, len(views), *views, *params)
    return MIOutput(estimate, loss, {k: v.detach() for k, v in sink[0].diagnostics.items()})


class _Routed(torch.autograd.Function):
    """Forward: the estimator on leaf copies of the views (its own graph, kept). Backward: the incoming
    gradient of the estimate is pulled back to the views, that of the loss to the parameters."""

    @staticmethod
    def forward(
        ctx: Any, estimator: MIEstimator, sink: list[MIOutput], count: int, *tensors: Tensor
    ) -> tuple[Tensor, Tensor]:
        views, params = tensors[:count], tensors[count:]
        with torch.enable_grad():
            leaves = [v.detach().requires_grad_(v.requires_grad) for v in views]
            out = estimator(*leaves)
        sink.append(out)
        ctx.set_materialize_grads(False)
        ctx.graph = (out.estimate, out.loss, leaves, params)
        estimate, loss = out.estimate.detach(), out.loss.detach()
        if not (out.estimate.requires_grad and any(v.requires_grad for v in leaves)):
            ctx.mark_non_differentiable(estimate)
        if not (out.loss.requires_grad and params):
            ctx.mark_non_differentiable(loss)
        return estimate, loss

    @staticmethod
    def backward(
        ctx: Any, grad_estimate: Tensor | None, grad_loss: Tensor | None
    ) -> tuple[Tensor | None, ...]:
        estimate, loss, leaves, params = ctx.graph
        view_grads: list[Tensor | None] = [None] * len(leaves)
        param_grads: list[Tensor | None] = [None] * len(params)
        create = torch.is_grad_enabled()  # a backward with create_graph=True
        wanted = [i for i, leaf in enumerate(leaves) if leaf.requires_grad]
        if grad_estimate is not None and estimate.requires_grad and wanted:
            grads = torch.autograd.grad(
                estimate, [leaves[i] for i in wanted], grad_estimate,
                retain_graph=True, create_graph=create, allow_unused=True,
            )  # fmt: skip
            for i, grad in zip(wanted, grads):
                view_grads[i] = grad
        if grad_loss is not None and loss.requires_grad and params:
            param_grads = list(
                torch.autograd.grad(
                    loss, params, grad_loss, retain_graph=True, create_graph=create, allow_unused=True
                )
            )
        return (None, None, None, *view_grads, *param_grads)
