"""MTFN: multi-task Tensor Fusion Network (Yu et al., ACL 2020, CH-SIMS; MMSA 2.2.1's ``mtfn``).

MMSA's TFN (outer product of ``[1; z_m]`` in the order audio, vision, text, three post-fusion layers, a
sigmoid into the label range) with a regression head per modality trained on the unimodal labels
(``multitask.py``). Penalty taps: the subnetwork outputs and the fusion tensor.
"""

from __future__ import annotations

from dataclasses import dataclass

from mifusion.config import ModelConfig
from mifusion.data.spec import DataSpec
from mifusion.models.base import MODELS, ModelEntry
from mifusion.models.multitask import MultiTaskModel, MultiTaskOptions, build_multitask


@dataclass(frozen=True)
class MTFNOptions(MultiTaskOptions):
    """MTFN: subnetwork output size and head widths / weights (MMSA's CH-SIMS weights M 0.6, T 0.4, A 0.0,
    V 1.0 relative to the task loss)."""

    unimodal_dim: int = 8
    text_weight: float = 0.4 / 0.6
    audio_weight: float = 0.0
    vision_weight: float = 1.0 / 0.6


def build_mtfn(cfg: ModelConfig, spec: DataSpec, options: MTFNOptions) -> MultiTaskModel:
    """Builds MTFN (text LSTM width model.sequence.hidden_dim, post-fusion width model.hidden_dim).

    Example:
        >>> from mifusion.models.testing import tiny_spec, tiny_batch
        >>> spec = tiny_spec(text_kind="features")
        >>> build_mtfn(ModelConfig(name="mtfn"), spec, MTFNOptions(unimodal_dim=2))(tiny_batch(spec, 2)).fused.shape
        torch.Size([2, 27])
    """
    d = options.unimodal_dim
    text = (cfg.sequence.hidden_dim, d)
    return build_multitask(cfg, spec, "tensor", d, text, cfg.hidden_dim, cfg.dropout, options)


MODELS.add(
    "mtfn",
    ModelEntry(build_mtfn, MTFNOptions, summary="MTFN: multi-task tensor fusion (Yu 2020; unimodal labels)"),
)
