"""What MFN and Graph-MFN share: per-modality LSTM cells stepped together and a multi-view gated memory.

Memory Fusion Network (Zadeh et al., AAAI 2018) and its Graph-MFN variant (Zadeh et al., ACL 2018) read
word-aligned sequences with one LSTM cell per modality, stepped in lockstep. At every step a *delta*
module turns the cells' previous and new states into a cross-modal vector ``a`` (MFN: attention over the
memories; Graph-MFN: the Dynamic Fusion Graph), from which a gated memory is updated:
``u = tanh(MLP(a))``, ``gamma_1, gamma_2 = sigmoid(MLP([a; u_prev]))``, ``u = gamma_1 * u_prev + gamma_2 * u``.
The head reads the last hidden state of every cell and the memory.

The states are read at each sample's true last step (MMSA reads the last *padded* step; its differential
tests use unpadded batches). Token text enters as the text encoder's per-token states.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mifusion.data.batch import MultimodalBatch
from mifusion.encoders.pooling import last_valid
from mifusion.models.common import ModalityEncoders


def hidden_mlp(sizes: Sequence[int], dropout: float) -> nn.Sequential:
    """Linear, ReLU, dropout, Linear (the two-layer networks MFN uses everywhere)."""
    a, b, c = sizes
    return nn.Sequential(nn.Linear(a, b), nn.ReLU(), nn.Dropout(dropout), nn.Linear(b, c))


class GatedMemory(nn.Module):
    """The multi-view gated memory: ``u = gamma_1 * u + gamma_2 * tanh(candidate(a))``.

    Example:
        >>> memory = GatedMemory(6, 4, (5, 3, 3), 0.0)
        >>> memory(torch.randn(2, 6), torch.zeros(2, 4)).shape
        torch.Size([2, 4])
    """

    def __init__(self, input_dim: int, memory_dim: int, hidden: tuple[int, int, int], dropout: float) -> None:
        super().__init__()
        candidate, gamma1, gamma2 = hidden
        self.candidate = hidden_mlp((input_dim, candidate, memory_dim), dropout)
        self.gamma1 = hidden_mlp((input_dim + memory_dim, gamma1, memory_dim), dropout)
        self.gamma2 = hidden_mlp((input_dim + memory_dim, gamma2, memory_dim), dropout)
        self.memory_dim = memory_dim

    def forward(self, attended: Tensor, memory: Tensor) -> Tensor:
        """attended (B, input_dim), memory (B, memory_dim) -> the new memory (B, memory_dim)."""
        proposal = torch.tanh(self.candidate(attended))
        both = torch.cat([attended, memory], dim=-1)
        return torch.sigmoid(self.gamma1(both)) * memory + torch.sigmoid(self.gamma2(both)) * proposal


def aligned_inputs(
    batch: MultimodalBatch, modalities: Sequence[str], text: ModalityEncoders | None, dtype: torch.dtype
) -> tuple[dict[str, Tensor], Tensor]:
    """modality -> (B, T, D_m) zero-padded to one length T, and the (B,) true lengths (longest modality)."""
    steps, lengths = {}, []
    for m in modalities:
        if m == "text" and text is not None:
            encoded = text.encode(batch, "text")
            x, mask = encoded.states, encoded.mask
        else:
            x, mask = batch.sequences[m], batch.masks[m] & batch.present[m].unsqueeze(-1)
        steps[m] = x.to(dtype) * mask.unsqueeze(-1).to(dtype)
        lengths.append(mask.sum(dim=1))
    longest = max(x.shape[1] for x in steps.values())
    padded = {m: F.pad(x, (0, 0, 0, longest - x.shape[1])) for m, x in steps.items()}
    return padded, torch.stack(lengths).amax(dim=0)


class LockstepCells(nn.Module):
    """One LSTM cell per modality, stepped together; yields each step's previous and new (h, c)."""

    def __init__(self, input_dims: dict[str, int], hidden_dims: dict[str, int]) -> None:
        super().__init__()
        self.cells = nn.ModuleDict({m: nn.LSTMCell(input_dims[m], hidden_dims[m]) for m in input_dims})
        self.hidden_dims = hidden_dims

    def initial(self, batch_size: int, like: Tensor) -> dict[str, tuple[Tensor, Tensor]]:
        """Zero (h, c) per modality."""
        return {
            m: (like.new_zeros(batch_size, d), like.new_zeros(batch_size, d))
            for m, d in self.hidden_dims.items()
        }

    def step(
        self, inputs: dict[str, Tensor], state: dict[str, tuple[Tensor, Tensor]]
    ) -> dict[str, tuple[Tensor, Tensor]]:
        """One step of every cell: inputs m -> (B, D_m), state m -> (h, c) -> the new state."""
        return {m: self.cells[m](inputs[m], state[m]) for m in self.cells}


def read_last(history: list[Tensor], lengths: Tensor) -> Tensor:
    """The entry of a per-step history list [(B, D)] * T at each sample's last valid step (B, D)."""
    return last_valid(torch.stack(history, dim=1), lengths)
