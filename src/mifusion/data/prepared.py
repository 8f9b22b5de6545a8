"""Data ready for training: the prepared splits and the :class:`~mifusion.data.spec.DataSpec` they give.

Built from a config by :func:`mifusion.experiments.pipeline.prepare`; the trainer takes it as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mifusion.data.dataset import MultimodalDataset
from mifusion.data.spec import DataSpec


@dataclass
class PreparedData:
    """Data ready for training.

    Attributes:
        dataset: splits restricted to the configured modalities, tokenised and standardised.
        spec: what the model is built for.
        stats: the training-split feature statistics (a ``FeatureStats``), or None when not standardised.
        tokenizer: the tokenizer used for text, or None.
    """

    dataset: MultimodalDataset
    spec: DataSpec
    stats: Any
    tokenizer: Any
