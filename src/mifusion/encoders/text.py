"""Text encoders: a transformers model (local directory or name, never downloaded) or a tiny random BERT.

``transformers`` is imported inside functions only, so importing mifusion stays light.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from mifusion.encoders.pooling import first_position, masked_mean
from mifusion.encoders.sequence import SequenceOutput
from mifusion.errors import ConfigError


def load_transformer(pretrained: str, option: str = "model.text.pretrained") -> nn.Module:
    """Loads a transformers encoder from a local directory or cached name (``local_files_only=True``).

    Raises:
        ConfigError: when the model is neither a local directory nor in the local cache; the message
            names ``option``, the setting the user gave the path with.
    """
    from transformers import AutoModel

    try:
        model: nn.Module = AutoModel.from_pretrained(pretrained, local_files_only=True)
        return model
    except (OSError, ValueError) as error:
        raise ConfigError(
            f"{option}={pretrained!r} could not be loaded locally ({type(error).__name__}); "
            "give a local model directory (no downloads are made)"
        ) from None


def load_tokenizer(pretrained: str, option: str = "model.text.pretrained") -> Any:
    """A local transformers tokenizer (never downloads); ConfigError naming ``option`` otherwise."""
    try:
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(pretrained, local_files_only=True)
    except (OSError, ValueError) as err:
        raise ConfigError(
            f"{option}={pretrained!r}: cannot load a local tokenizer ({err}); give a local model directory"
        ) from None


def tiny_bert(
    vocab_size: int, hidden_size: int, num_layers: int, num_heads: int, intermediate_size: int
) -> nn.Module:
    """A randomly initialised BERT (Devlin et al. 2019) of the given sizes, without a pooler."""
    from transformers import BertConfig, BertModel

    config = BertConfig(
        vocab_size=vocab_size,
        hidden_size=hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=num_heads,
        intermediate_size=intermediate_size,
        max_position_embeddings=512,
    )
    return BertModel(config, add_pooling_layer=False)


class TextEncoder(nn.Module):
    """A transformers encoder with [CLS] or mean pooling, optionally frozen.

    Args:
        model: a transformers encoder (``BertModel``, ``RobertaModel``, ...) returning ``last_hidden_state``.
        pooling: "cls" (first token) or "mean" (masked mean over real tokens).
        finetune: False freezes every parameter (they then belong to no optimiser group).

    Example:
        >>> enc = TextEncoder(tiny_bert(30, 8, 1, 2, 16), pooling="mean")
        >>> import torch
        >>> out = enc(torch.tensor([[2, 5, 3, 0]]), torch.tensor([[True, True, True, False]]))
        >>> tuple(out.states.shape), tuple(out.pooled.shape)
        ((1, 4, 8), (1, 8))
    """

    def __init__(self, model: nn.Module, pooling: str = "cls", finetune: bool = True) -> None:
        super().__init__()
        if pooling not in ("cls", "mean"):
            raise ConfigError(f"model.text.pooling={pooling!r}; use 'cls' or 'mean'")
        if getattr(model, "pooler", None) is not None:
            model.pooler = None  # type: ignore[assignment]  # its output is never used; its parameters would get no gradient
        self.model = model
        self.pooling = pooling
        config: Any = getattr(model, "config", None)
        self.output_dim = int(config.hidden_size) if config is not None else 0
        self.state_dim = self.output_dim
        if not finetune:
            for p in self.model.parameters():
                p.requires_grad_(False)

    def forward(self, token_ids: Tensor, token_mask: Tensor) -> SequenceOutput:
        """(B, L) token ids and (B, L) mask -> states (B, L, H), pooled (B, H) (zero without tokens)."""
        hidden = self.model(input_ids=token_ids, attention_mask=token_mask.long()).last_hidden_state
        hidden = hidden * token_mask.to(hidden.dtype).unsqueeze(-1)  # (B, L, H)
        if self.pooling == "cls":
            pooled = first_position(hidden, token_mask)
        else:
            pooled = masked_mean(hidden, token_mask)
        return SequenceOutput(hidden, token_mask, pooled)
