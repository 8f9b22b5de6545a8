"""Graph-MFN: MFN with a Dynamic Fusion Graph as its delta module (Zadeh et al., ACL 2018; MMSA's ``graph_mfn``).

At each step, every modality's previous and new LSTM hidden states become a singleton vertex
``ReLU(W [h_{t-1}; h_t])``. The Dynamic Fusion Graph (DFG) then builds one vertex per subset of two or more
modalities from its proper subsets' vertices, each weighted by an *efficacy* (a scalar per edge predicted
from the singletons), and a final vertex T from every vertex; T feeds the gated memory
(``memory_fusion.py``). MMSA's vertex networks and efficacy network are linear (two Linear layers with a
hidden width of 100, no activation); so are these (``pattern_hidden``).

MMSA bug, corrected here: MMSA keeps the multimodal vertex networks in a plain dict, so they are not
registered as submodules: its optimiser never updates them (they stay at their random initialisation) and
they are not saved with the model. Here they are registered and trained. The differential test copies them
explicitly and checks their gradients too. Needs word-aligned data; runs on any modality subset.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import chain, combinations

import torch
from torch import Tensor, nn

from mifusion.config import ModelConfig
from mifusion.data.batch import MultimodalBatch
from mifusion.data.spec import DataSpec
from mifusion.models.base import MODELS, FusionModel, ModelEntry, ModelOutput
from mifusion.models.common import ModalityEncoders, frame_dims, zero_absent
from mifusion.models.memory_fusion import GatedMemory, LockstepCells, aligned_inputs, hidden_mlp, read_last


@dataclass(frozen=True)
class GraphMFNOptions:
    """Graph-MFN sizes (MMSA's MOSI values: text/audio/vision 256/32/256, memory 300, inner vertices 64,
    candidate 32, gammas 128/64, output 256, pattern hidden 100)."""

    text_hidden: int = 32
    audio_hidden: int = 8
    vision_hidden: int = 16
    memory_dim: int = 32
    vertex_dim: int = 16
    pattern_hidden: int = 100
    candidate_hidden: int = 32
    gamma1_hidden: int = 32
    gamma2_hidden: int = 32
    output_hidden: int = 64


def nonempty_subsets(items: tuple[int, ...]) -> list[tuple[int, ...]]:
    """Every non-empty subset of ``items``, by size, each size in ``itertools.combinations`` order."""
    return list(chain.from_iterable(combinations(items, r) for r in range(1, len(items) + 1)))


class DynamicFusionGraph(nn.Module):
    """The DFG over ``len(dims)`` singleton vertices of sizes ``dims``; returns T (B, vertex_dim).

    Example:
        >>> graph = DynamicFusionGraph([3, 2, 4], vertex_dim=5, pattern_hidden=6)
        >>> graph([torch.randn(2, 3), torch.randn(2, 2), torch.randn(2, 4)]).shape
        torch.Size([2, 5])
    """

    def __init__(self, dims: list[int], vertex_dim: int, pattern_hidden: int) -> None:
        super().__init__()
        count = len(dims)
        self.subsets = nonempty_subsets(tuple(range(count)))
        self.vertices = [s for s in self.subsets if len(s) > 1]  # built in this order
        size: dict[tuple[int, ...], int] = {(i,): d for i, d in enumerate(dims)}
        size.update({s: vertex_dim for s in self.vertices})
        self.inputs = {s: [p for p in nonempty_subsets(s) if p != s] for s in self.vertices}
        self.inputs[()] = self.subsets  # T reads every vertex
        self.networks = nn.ModuleDict()
        for s in [*self.vertices, ()]:
            width = sum(size[p] for p in self.inputs[s])
            self.networks[self.key(s)] = nn.Sequential(
                nn.Linear(width, pattern_hidden), nn.Linear(pattern_hidden, vertex_dim)
            )
        edges = sum(len(self.inputs[s]) for s in [*self.vertices, ()])
        self.efficacy = nn.Sequential(
            nn.Linear(sum(dims), pattern_hidden),
            nn.Linear(pattern_hidden, vertex_dim),
            nn.Linear(vertex_dim, edges),
        )

    @staticmethod
    def key(subset: tuple[int, ...]) -> str:
        """ModuleDict key of a vertex network ("T" for the final vertex)."""
        return "_".join(map(str, subset)) or "T"

    def forward(self, singletons: list[Tensor]) -> Tensor:
        """M singleton vertices (B, D_m) -> T (B, vertex_dim)."""
        efficacies = self.efficacy(torch.cat(singletons, dim=-1))  # (B, edges)
        outputs: dict[tuple[int, ...], Tensor] = {(i,): x for i, x in enumerate(singletons)}
        edge = 0
        for s in [*self.vertices, ()]:
            weighted = [outputs[p] * efficacies[:, edge + j, None] for j, p in enumerate(self.inputs[s])]
            edge += len(self.inputs[s])
            outputs[s] = self.networks[self.key(s)](torch.cat(weighted, dim=-1))
        return outputs[()]


class GraphMFN(FusionModel):
    """Graph Memory Fusion Network.

    Example:
        >>> from mifusion.models.testing import tiny_spec, tiny_batch
        >>> spec = tiny_spec(aligned=True)
        >>> options = GraphMFNOptions(4, 4, 4, 6, 5, 7, 5, 5, 5, 5)
        >>> build_graph_mfn(ModelConfig(name="graph_mfn"), spec, options)(tiny_batch(spec, 2)).fused.shape
        torch.Size([2, 18])
    """

    def __init__(
        self, spec: DataSpec, text: ModalityEncoders | None, options: GraphMFNOptions, dropout: float
    ) -> None:
        super().__init__()
        self.modalities = spec.modalities
        self.text = text
        self.text_encoder = text.text_encoder if text is not None else None
        sizes = {"text": options.text_hidden, "audio": options.audio_hidden, "vision": options.vision_hidden}
        hidden = {m: sizes[m] for m in self.modalities}
        self.cells = LockstepCells(frame_dims(spec, text), hidden)
        self.singletons = nn.ModuleDict({m: nn.Linear(2 * d, d) for m, d in hidden.items()})
        self.graph = DynamicFusionGraph(list(hidden.values()), options.vertex_dim, options.pattern_hidden)
        gates = (options.candidate_hidden, options.gamma1_hidden, options.gamma2_hidden)
        self.memory = GatedMemory(options.vertex_dim, options.memory_dim, gates, dropout)
        total = sum(hidden.values())
        self.head = hidden_mlp((total + options.memory_dim, options.output_hidden, 1), dropout)
        self.unimodal_dims = hidden
        self.fused_dim = total + options.memory_dim

    def forward(self, batch: MultimodalBatch) -> ModelOutput:
        """Batch -> prediction (B,), unimodal (B, hidden_m) last hidden states, fused (B, sum hidden + memory)."""
        inputs, lengths = aligned_inputs(
            batch, self.modalities, self.text, next(self.memory.parameters()).dtype
        )
        first = next(iter(inputs.values()))
        state = self.cells.initial(first.shape[0], first)
        memory = first.new_zeros(first.shape[0], self.memory.memory_dim)
        history: dict[str, list[Tensor]] = {m: [] for m in [*self.modalities, "memory"]}
        for t in range(first.shape[1]):
            new = self.cells.step({m: x[:, t] for m, x in inputs.items()}, state)
            singletons = [
                torch.relu(self.singletons[m](torch.cat([state[m][0], new[m][0]], dim=-1)))
                for m in self.modalities
            ]
            memory = self.memory(self.graph(singletons), memory)
            state = new
            for m in self.modalities:
                history[m].append(state[m][0])
            history["memory"].append(memory)
        last = {key: read_last(values, lengths) for key, values in history.items()}
        unimodal = {m: zero_absent(batch, m, last[m]) for m in self.modalities}
        fused = torch.cat([last[m] for m in self.modalities] + [last["memory"]], dim=-1)
        return ModelOutput(self.head(fused).squeeze(-1), unimodal, fused)


def build_graph_mfn(cfg: ModelConfig, spec: DataSpec, options: GraphMFNOptions) -> GraphMFN:
    """Builds Graph-MFN on the spec's modalities (aligned data needed for more than one modality)."""
    text = ModalityEncoders(spec, cfg, ("text",)) if spec.text_kind == "tokens" else None
    return GraphMFN(spec, text, options, cfg.dropout)


MODELS.add(
    "graph_mfn",
    ModelEntry(
        build_graph_mfn,
        GraphMFNOptions,
        needs_aligned=True,
        summary="Graph-MFN: MFN with a dynamic fusion graph (Zadeh 2018; needs aligned)",
    ),
)
