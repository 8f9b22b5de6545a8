"""Layer-wise learning-rate decay for a fine-tuned transformer text encoder (``train.text_lr_decay``).

Clark et al. 2020 (ELECTRA) and Sun et al. 2019 ("How to fine-tune BERT for text classification"): the
top layer learns at ``text_lr``, each layer below at ``decay`` times the one above, the embeddings at
``text_lr * decay**L`` for L layers. Layers are found by module, not by parameter names: the
transformer's blocks are its longest ``nn.ModuleList`` (BERT's ``encoder.layer``). Parameters before
the first block (embeddings) sit at depth 0, those of block i at depth i + 1, those after the last
block (a final norm) at depth L.

Example:
    >>> from mifusion.encoders.text import tiny_bert
    >>> groups = text_layer_groups(tiny_bert(30, 8, 2, 2, 16), lr=1.0, decay=0.5)
    >>> [(g["name"], g["lr"]) for g in groups]
    [('text_encoder/depth0', 0.25), ('text_encoder/depth1', 0.5), ('text_encoder/depth2', 1.0)]
"""

from __future__ import annotations

from collections.abc import Iterable

from torch import nn


def _blocks(encoder: nn.Module) -> nn.ModuleList | None:
    """The longest ModuleList inside ``encoder`` (its transformer blocks), or None when it has none."""
    lists = [m for m in encoder.modules() if isinstance(m, nn.ModuleList) and len(m) > 0]
    return max(lists, key=len) if lists else None


def parameter_depths(encoder: nn.Module) -> tuple[dict[int, int], int]:
    """``id(parameter) -> depth`` for every parameter of ``encoder``, and the number of blocks L."""
    blocks = _blocks(encoder)
    if blocks is None:
        return {id(p): 0 for p in encoder.parameters()}, 0
    block_of = {id(p): i + 1 for i, block in enumerate(blocks) for p in block.parameters()}
    depths: dict[int, int] = {}
    seen_block = False
    for p in encoder.parameters():
        if id(p) in block_of:
            seen_block = True
            depths[id(p)] = block_of[id(p)]
        else:
            depths[id(p)] = len(blocks) if seen_block else 0
    return depths, len(blocks)


def text_layer_groups(
    encoder: nn.Module, lr: float, decay: float, params: Iterable[nn.Parameter] | None = None
) -> list[dict[str, object]]:
    """Optimiser groups of the text encoder's ``params`` (default: all trainable), one per depth.

    Depth d of L gets ``lr * decay ** (L - d)``; with ``decay == 1`` there is one group at ``lr``.
    Parameters of ``params`` that are not in ``encoder`` go to the top group.
    """
    chosen = [p for p in (encoder.parameters() if params is None else params) if p.requires_grad]
    if decay == 1.0:
        return [{"params": chosen, "lr": lr, "name": "text_encoder"}]
    depths, layers = parameter_depths(encoder)
    by_depth: dict[int, list[nn.Parameter]] = {}
    for p in chosen:
        by_depth.setdefault(depths.get(id(p), layers), []).append(p)
    return [
        {"params": by_depth[d], "lr": lr * decay ** (layers - d), "name": f"text_encoder/depth{d}"}
        for d in sorted(by_depth)
    ]
