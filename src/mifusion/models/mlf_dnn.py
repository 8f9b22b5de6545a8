"""MLF-DNN: multi-task late-fusion DNN (Yu et al., ACL 2020, CH-SIMS; MMSA 2.2.1's ``mlf_dnn``).

MMSA's LF-DNN (concatenated subnetwork outputs, three post-fusion layers) with a regression head per
modality trained on the unimodal labels (``multitask.py``). Penalty taps: the subnetwork outputs and their
concatenation.
"""

from __future__ import annotations

from dataclasses import dataclass

from mifusion.config import ModelConfig
from mifusion.data.spec import DataSpec
from mifusion.models.base import MODELS, ModelEntry
from mifusion.models.multitask import MultiTaskModel, MultiTaskOptions, build_multitask


@dataclass(frozen=True)
class MLFDNNOptions(MultiTaskOptions):
    """MLF-DNN: subnetwork output size (audio, vision, text) and head widths / weights (MMSA's CH-SIMS
    weights M 0.6, T 0.2, A 0.8, V 0.8 give text 1/3, audio and vision 4/3 relative to the task loss)."""

    unimodal_dim: int = 32
    text_weight: float = 0.2 / 0.6
    audio_weight: float = 0.8 / 0.6
    vision_weight: float = 0.8 / 0.6


def build_mlf_dnn(cfg: ModelConfig, spec: DataSpec, options: MLFDNNOptions) -> MultiTaskModel:
    """Builds MLF-DNN (text LSTM width model.sequence.hidden_dim, post-fusion width model.hidden_dim).

    Example:
        >>> from mifusion.models.testing import tiny_spec, tiny_batch
        >>> spec = tiny_spec(text_kind="features")
        >>> out = build_mlf_dnn(ModelConfig(name="mlf_dnn"), spec, MLFDNNOptions())(tiny_batch(spec, 2))
        >>> sorted(out.terms)
        ['audio_task', 'text_task', 'vision_task']
    """
    d = options.unimodal_dim
    text = (cfg.sequence.hidden_dim, d)
    return build_multitask(cfg, spec, "concat", d, text, cfg.hidden_dim, cfg.dropout, options)


MODELS.add(
    "mlf_dnn",
    ModelEntry(
        build_mlf_dnn, MLFDNNOptions, summary="MLF-DNN: multi-task late fusion (Yu 2020; unimodal labels)"
    ),
)
