"""Parts every model shares: per-modality encoders built from the data spec, and small MLPs."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from mifusion.config import ModelConfig, SequenceEncoderConfig
from mifusion.data.batch import MultimodalBatch
from mifusion.data.spec import DataSpec
from mifusion.encoders.build import build_sequence_encoder, build_text_encoder
from mifusion.encoders.sequence import SequenceEncoder, SequenceOutput
from mifusion.encoders.text import TextEncoder
from mifusion.errors import ShapeError


class ModalityEncoders(nn.Module):
    """One encoder per modality of the spec: a transformers text encoder for token text, else sequences.

    ``text_encoder`` is the token text encoder (or None), for the text learning-rate group.
    """

    def __init__(
        self,
        spec: DataSpec,
        cfg: ModelConfig,
        modalities: Sequence[str] | None = None,
        sequence_cfg: SequenceEncoderConfig | None = None,
    ) -> None:
        super().__init__()
        self.modalities = tuple(modalities if modalities is not None else spec.modalities)
        self.encoders = nn.ModuleDict()
        self.text_encoder: TextEncoder | None = None
        for m in self.modalities:
            if m == "text" and spec.text_kind == "tokens":
                self.text_encoder = build_text_encoder(cfg.text, spec)
                self.encoders[m] = self.text_encoder
            else:
                self.encoders[m] = build_sequence_encoder(sequence_cfg or cfg.sequence, spec.feature_dims[m])
        self.output_dims = {m: _size(self.encoders[m], "output_dim") for m in self.modalities}
        self.state_dims = {m: _size(self.encoders[m], "state_dim") for m in self.modalities}

    def forward(self, batch: MultimodalBatch) -> dict[str, SequenceOutput]:
        """Encodes each modality; pooled vectors are zero for samples where the modality is absent."""
        return {m: self.encode(batch, m) for m in self.modalities}

    def encode(self, batch: MultimodalBatch, m: str) -> SequenceOutput:
        """Encodes modality ``m`` of ``batch`` (states (B, T, D_state), pooled (B, D_out))."""
        encoder = self.encoders[m]
        if isinstance(encoder, TextEncoder):
            if batch.token_ids is None or batch.token_mask is None:
                raise ShapeError("the model was built for token text but the batch has no token_ids")
            out = encoder(batch.token_ids, batch.token_mask)
        else:
            if m not in batch.sequences:
                raise ShapeError(f"the model was built for {m} but the batch has no {m} sequences")
            assert isinstance(encoder, SequenceEncoder)
            x = batch.sequences[m].to(encoder.project.weight.dtype)  # float64 under precision 64-true
            out = encoder(x, batch.lengths[m])
        return mask_absent(out, present_of(batch, m, out.pooled))


def _size(module: nn.Module, name: str) -> int:
    """An encoder's declared integer size attribute."""
    value = getattr(module, name)
    assert isinstance(value, int)
    return value


def present_of(batch: MultimodalBatch, m: str, like: Tensor) -> Tensor:
    """(B,) bool availability of ``m`` (all True when the batch does not say)."""
    present = batch.present.get(m)
    if present is None:
        return torch.ones(like.shape[0], dtype=torch.bool, device=like.device)
    return present.to(like.device)


def mask_absent(out: SequenceOutput, present: Tensor) -> SequenceOutput:
    """Zeroes pooled vectors and masks of absent samples."""
    keep = present.to(out.pooled.dtype).unsqueeze(-1)  # (B, 1)
    return SequenceOutput(out.states, out.mask & present.unsqueeze(-1), out.pooled * keep)


def mlp(sizes: Sequence[int], dropout: float = 0.0, activation: type[nn.Module] = nn.ReLU) -> nn.Sequential:
    """Linear layers of ``sizes`` with ``activation`` and dropout between them (none after the last)."""
    layers: list[nn.Module] = []
    for index, (a, b) in enumerate(itertools.pairwise(sizes)):
        if index > 0:
            layers += [activation(), nn.Dropout(dropout)]
        layers.append(nn.Linear(a, b))
    return nn.Sequential(*layers)


def zero_absent(batch: MultimodalBatch, m: str, x: Tensor) -> Tensor:
    """``x`` (B, D) with the rows of samples lacking modality ``m`` set to zero."""
    return x * present_of(batch, m, x).to(x.dtype).unsqueeze(-1)


def frame_dims(spec: DataSpec, text: ModalityEncoders | None) -> dict[str, int]:
    """Features per time step of each used modality (text: the text encoder's per-token state size)."""
    dims = {m: spec.feature_dims[m] for m in spec.modalities if m in spec.feature_dims}
    if text is not None:
        dims["text"] = text.state_dims["text"]
    return dims
