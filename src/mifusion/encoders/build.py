"""Builders that turn encoder configs and the data spec into encoder modules."""

from __future__ import annotations

from mifusion.config import SequenceEncoderConfig, TextEncoderConfig
from mifusion.data.spec import DataSpec
from mifusion.encoders.sequence import (
    FrameLinearEncoder,
    RecurrentEncoder,
    SequenceCore,
    SequenceEncoder,
    TransformerSequenceEncoder,
    xavier_init,
)
from mifusion.encoders.text import TextEncoder, load_transformer, tiny_bert
from mifusion.errors import ConfigError


def build_sequence_encoder(
    cfg: SequenceEncoderConfig, input_dim: int, output_dim: int | None = None
) -> SequenceEncoder:
    """A length-honouring sequence encoder for ``input_dim`` features per frame.

    Example:
        >>> enc = build_sequence_encoder(SequenceEncoderConfig(hidden_dim=4, output_dim=3), input_dim=5)
        >>> enc.output_dim, enc.state_dim
        (3, 4)
    """
    core: SequenceCore
    if cfg.kind in ("lstm", "gru"):
        core = RecurrentEncoder(
            input_dim, cfg.hidden_dim, cfg.kind, cfg.num_layers, cfg.bidirectional, cfg.dropout
        )
    elif cfg.kind == "transformer":
        heads = 2 if cfg.hidden_dim % 2 == 0 else 1
        core = TransformerSequenceEncoder(input_dim, cfg.hidden_dim, cfg.num_layers, heads, cfg.dropout)
    elif cfg.kind == "linear":
        core = FrameLinearEncoder(input_dim, cfg.hidden_dim)
    else:
        raise ConfigError(f"model.sequence.kind={cfg.kind!r}; use lstm, gru, transformer or linear")
    encoder = SequenceEncoder(core, output_dim or cfg.output_dim, cfg.pooling)
    if cfg.init == "xavier":
        xavier_init(encoder)
    return encoder


def build_text_encoder(cfg: TextEncoderConfig, spec: DataSpec) -> TextEncoder:
    """The token text encoder: ``cfg.pretrained`` loaded locally, else a tiny random BERT.

    Raises:
        ConfigError: when the data has no token ids or the vocabulary size is unknown.
    """
    if spec.text_kind != "tokens":
        raise ConfigError(
            f"a transformers text encoder needs token ids but the data's text is {spec.text_kind!r}; "
            "use precomputed-feature text with a sequence encoder or tokenise the text"
        )
    if cfg.pretrained:
        model = load_transformer(cfg.pretrained)
    else:
        if not spec.vocab_size:
            raise ConfigError(
                "the data does not declare its vocabulary size; set model.text.pretrained to the "
                "tokenizer's model"
            )
        model = tiny_bert(
            spec.vocab_size, cfg.hidden_size, cfg.num_layers, cfg.num_heads, cfg.intermediate_size
        )
    return TextEncoder(model, cfg.pooling, cfg.finetune)
