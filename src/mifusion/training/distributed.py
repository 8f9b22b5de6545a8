"""Devices, precision and data-parallel training through Lightning Fabric.

:func:`launch` builds a launched ``lightning_fabric.Fabric`` from ``train.device`` and ``train.precision``:
one device (CPU, or one GPU with ``bf16-mixed`` autocast) in a plain process, and DDP (gloo on CPU, NCCL on
CUDA) across the processes that ``torchrun`` started. :func:`wrap_model` puts the model on the device and,
under DDP, wraps it with DistributedDataParallel **without the estimator parameters**: those are trained by
a second backward pass on detached representations (and some get no gradient in some steps), which DDP's
one-backward-per-forward gradient hooks do not fit, so their gradients are averaged here with
``fabric.all_reduce`` (:func:`average_gradients`).

Each global batch of ``train.batch_size`` samples is split across the processes (:func:`shard`), so every
process holds the same parameters after each step. In-batch negatives, covariances and entropy memories
are **per process** (each sees ``batch_size / world_size`` samples; nothing is gathered), and module
buffers (entropy memories, running statistics) are not broadcast.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.distributed as dist

if TYPE_CHECKING:
    from lightning_fabric import Fabric

log = logging.getLogger(__name__)


def world() -> tuple[int, int]:
    """(rank, world size); (0, 1) when not launched by torchrun."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def resolve_device(name: str) -> torch.device:
    """'auto' -> CUDA when available, else CPU; otherwise the named device ('cpu', 'cuda', 'cuda:1')."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def _precision_plugin(precision: str, device_type: str) -> Any:
    """None for "32"; for "bf16-mixed" Fabric's autocast plugin, minus its cast of the inputs to bf16;
    for "64-true" Fabric's double precision (parameters and floating inputs in float64, for numerical
    checks such as the differential test against MMSA).

    Under bf16 inputs stay float32 (labels, features; as with ``torch.autocast`` alone): log-determinants
    and label-split statistics in the estimators do not run in bf16.
    """
    if precision == "32":
        return None
    from lightning_fabric.plugins.precision import DoublePrecision, MixedPrecision

    if precision == "64-true":
        return DoublePrecision()

    class AutocastOnly(MixedPrecision):
        def convert_input(self, data: Any) -> Any:
            return data

    return AutocastOnly("bf16-mixed", device_type)


def launch(device: str = "auto", precision: str = "32") -> Fabric:
    """A launched Fabric for ``device`` and mifusion's ``precision`` ("32", "bf16-mixed" or "64-true").

    Under ``torchrun`` (``WORLD_SIZE`` > 1) the strategy is DDP over ``LOCAL_WORLD_SIZE`` devices per node
    (the process group is created here), with ``find_unused_parameters`` (a safety net: a parameter that a
    model leaves out of one step would otherwise stop DDP at the next step) and no buffer sync in forward
    (entropy memories stay per process). Otherwise one device.

    Example::

        >>> fabric = launch("cpu")
        >>> (fabric.world_size, fabric.device.type)
        (1, 'cpu')
    """
    from lightning_fabric import Fabric

    target = resolve_device(device)
    accelerator = "gpu" if target.type == "cuda" else target.type
    size = int(os.environ.get("WORLD_SIZE", "1"))
    plugin = _precision_plugin(precision, target.type)
    options: dict[str, Any] = {"plugins": [plugin]} if plugin is not None else {"precision": "32-true"}
    if size > 1:
        import inspect

        from lightning_fabric.strategies import DDPStrategy
        from torch.nn.parallel import DistributedDataParallel

        local = int(os.environ.get("LOCAL_WORLD_SIZE", str(size)))
        # no buffer sync in forward (newer torch names it forward_sync_buffers; init sync is harmless)
        known = inspect.signature(DistributedDataParallel.__init__).parameters
        no_sync = "forward_sync_buffers" if "forward_sync_buffers" in known else "broadcast_buffers"
        ddp_options: dict[str, Any] = {no_sync: False, "find_unused_parameters": True}
        strategy = DDPStrategy(**ddp_options)
        fabric = Fabric(
            accelerator=accelerator, devices=local, num_nodes=size // local, strategy=strategy, **options
        )  # fmt: skip
    else:
        devices: Any = [target.index] if target.type == "cuda" and target.index is not None else 1
        fabric = Fabric(accelerator=accelerator, devices=devices, **options)
    fabric.launch()
    log.info(
        "%s x %d process(es), precision %s, strategy %s", fabric.device, fabric.world_size, precision,
        type(fabric.strategy).__name__,
    )  # fmt: skip
    return fabric


def wrap_model(
    fabric: Fabric, model: torch.nn.Module, estimator_params: Sequence[torch.nn.Parameter]
) -> torch.nn.Module:
    """Moves ``model`` to the device; under DDP wraps it, leaving ``estimator_params`` out of DDP.

    Returns the Fabric module whose forward runs under the precision's autocast. Parameters keep their
    identity, so optimisers built on ``model`` before or after stay valid.
    """
    if fabric.world_size > 1:
        from torch.nn.parallel import DistributedDataParallel

        ignore = {id(p) for p in estimator_params}
        names = [name for name, p in model.named_parameters() if id(p) in ignore]
        DistributedDataParallel._set_params_and_buffers_to_ignore_for_model(model, names)
    return fabric.setup_module(model)


def shard(index: np.ndarray, rank: int, size: int) -> np.ndarray:
    """This process's contiguous share of a global batch."""
    chunk = -(-len(index) // size)
    return index[rank * chunk : (rank + 1) * chunk]


def average_gradients(params: Sequence[torch.nn.Parameter], fabric: Fabric | None) -> None:
    """Averages the gradients of ``params`` (kept outside DDP) across processes in one all-reduce.

    Missing gradients count as zeros. A no-op in one process.
    """
    if fabric is None or fabric.world_size == 1 or not params:
        return
    for p in params:
        if p.grad is None:
            p.grad = torch.zeros_like(p)
    flat = torch.cat([p.grad.reshape(-1) for p in params])  # type: ignore[union-attr]
    fabric.all_reduce(flat, reduce_op="mean")
    offset = 0
    for p in params:
        count = p.numel()
        p.grad.copy_(flat[offset : offset + count].view_as(p))  # type: ignore[union-attr]
        offset += count


def any_flag(flag: bool, fabric: Fabric | None = None) -> bool:
    """True when ``flag`` is set in any process (keeps skip decisions in lockstep)."""
    if fabric is None or fabric.world_size == 1:
        return flag
    value = torch.tensor([1.0 if flag else 0.0], device=fabric.device)
    fabric.all_reduce(value, reduce_op="max")
    return bool(value.item() > 0)


def in_ddp(fabric: Fabric | None) -> bool:
    """True when gradients of the wrapped model are reduced by DDP (several processes)."""
    return fabric is not None and fabric.world_size > 1
