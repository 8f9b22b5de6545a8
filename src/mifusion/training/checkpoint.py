"""Atomic checkpoints that load with ``torch.load(weights_only=True)``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from mifusion.errors import DataError
from mifusion.writers import atomic_write_bytes


def clone_state(state: dict[str, Any]) -> dict[str, Any]:
    """Detached copy of a state dict that keeps aliases aliased (one copy per shared tensor).

    A module registered under several names (MMIM's text encoder) appears once per name in
    ``state_dict()``; cloning key by key would copy it once per name (3x the encoder's memory).

    Example:
        >>> lin = torch.nn.Linear(2, 2)
        >>> both = torch.nn.ModuleDict({"a": lin, "b": lin})
        >>> copy = clone_state(both.state_dict())
        >>> copy["a.weight"] is copy["b.weight"], torch.equal(copy["a.weight"], lin.weight)
        (True, True)
    """
    copies: dict[tuple[int, int, tuple[int, ...], tuple[int, ...]], torch.Tensor] = {}
    out = {}
    for key, value in state.items():
        if not isinstance(value, torch.Tensor):  # a module's extra state (e.g. the entropy memory)
            out[key] = _clone_nested(value)
            continue
        alias = (
            value.untyped_storage().data_ptr(),
            int(value.storage_offset()),
            tuple(value.shape),
            value.stride(),
        )
        if alias not in copies:
            copies[alias] = value.detach().clone()
        out[key] = copies[alias]
    return out


def _clone_nested(value: Any) -> Any:
    """Detached copies of the tensors inside nested dicts, lists and tuples."""
    if isinstance(value, torch.Tensor):
        return value.detach().clone()
    if isinstance(value, dict):
        return {k: _clone_nested(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_clone_nested(v) for v in value)
    return value


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Saves ``state`` (tensors, dicts, lists, numbers, strings) atomically."""
    atomic_write_bytes(path, lambda handle: torch.save(state, handle))


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Loads a checkpoint on CPU with ``weights_only=True``; DataError when missing or corrupt."""
    if Path(path).exists() and not Path(path).is_file():  # stat only: opening a FIFO would block
        raise DataError(f"{path}: not a regular file; a checkpoint is a file written by mifusion train")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise DataError(f"{path}: checkpoint not found; train the run first") from None
    except Exception as err:
        raise DataError(f"{path}: cannot read checkpoint ({type(err).__name__}); retrain the run") from None
    if not isinstance(state, dict):
        raise DataError(f"{path}: not a mifusion checkpoint")
    return state
