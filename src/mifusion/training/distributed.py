"""Data-parallel training across processes started by ``torchrun`` (gloo on CPU, NCCL on CUDA).

Each global batch of ``train.batch_size`` samples is split across the processes; gradients are averaged
with an all-reduce before clipping, so every process holds the same parameters. In-batch negatives,
covariances and entropy memories are **per process** (each sees ``batch_size / world_size`` samples).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import torch
import torch.distributed as dist


def world() -> tuple[int, int]:
    """(rank, world size); (0, 1) when not launched by torchrun."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def init_from_env(device: torch.device) -> tuple[int, int]:
    """Joins the process group when ``WORLD_SIZE`` > 1 (torchrun sets it); returns (rank, world size)."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size > 1 and dist.is_available() and not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return world()


def shard(index: np.ndarray, rank: int, size: int) -> np.ndarray:
    """This process's contiguous share of a global batch."""
    chunk = -(-len(index) // size)
    return index[rank * chunk : (rank + 1) * chunk]


def average_gradients(params: Sequence[torch.nn.Parameter]) -> None:
    """All-reduces (mean) the gradients of ``params`` across processes; no-op in one process."""
    _, size = world()
    if size == 1:
        return
    for p in params:
        if p.grad is None:
            p.grad = torch.zeros_like(p)
        dist.all_reduce(p.grad, op=dist.ReduceOp.SUM)
        p.grad /= size


def any_flag(flag: bool) -> bool:
    """True when ``flag`` is set in any process (keeps skip decisions in lockstep)."""
    _, size = world()
    if size == 1:
        return flag
    value = torch.tensor([1.0 if flag else 0.0])
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item() > 0)
