"""MLMF: multi-task Low-rank Multimodal Fusion (Yu et al., ACL 2020, CH-SIMS; MMSA 2.2.1's ``mlmf``).

MMSA's LMF (rank-r modality factors that regress the label directly; the text subnetwork outputs half the
text LSTM's width) with a regression head per modality trained on the unimodal labels (``multitask.py``).
Penalty taps: the subnetwork outputs and the (B, 1) fusion output.
"""

from __future__ import annotations

from dataclasses import dataclass

from mifusion.config import ModelConfig
from mifusion.data.spec import DataSpec
from mifusion.models.base import MODELS, ModelEntry
from mifusion.models.multitask import MultiTaskModel, MultiTaskOptions, build_multitask


@dataclass(frozen=True)
class MLMFOptions(MultiTaskOptions):
    """MLMF: audio/vision subnetwork size, rank and head widths / weights (MMSA's CH-SIMS weights M 0.2,
    T 1.0, A 0.4, V 0.8 relative to the task loss)."""

    unimodal_dim: int = 16
    rank: int = 3
    text_weight: float = 1.0 / 0.2
    audio_weight: float = 0.4 / 0.2
    vision_weight: float = 0.8 / 0.2


def build_mlmf(cfg: ModelConfig, spec: DataSpec, options: MLMFOptions) -> MultiTaskModel:
    """Builds MLMF (text LSTM width model.sequence.hidden_dim; its subnetwork outputs half of it).

    Example:
        >>> from mifusion.models.testing import tiny_spec, tiny_batch
        >>> spec = tiny_spec(text_kind="features")
        >>> build_mlmf(ModelConfig(name="mlmf"), spec, MLMFOptions())(tiny_batch(spec, 2)).prediction.shape
        torch.Size([2])
    """
    text = (cfg.sequence.hidden_dim, cfg.sequence.hidden_dim // 2)
    return build_multitask(
        cfg, spec, "low_rank", options.unimodal_dim, text, 0, cfg.dropout, options, rank=options.rank
    )


MODELS.add(
    "mlmf",
    ModelEntry(
        build_mlmf, MLMFOptions, summary="MLMF: multi-task low-rank fusion (Yu 2020; unimodal labels)"
    ),
)
