"""The options of MMIM's objective as one value, built once from ``model.options`` and passed down whole."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class MMIMObjectiveOptions:
    """The options of :class:`MMIMObjective`, built once (``model.options``) and passed down whole.

    See :class:`MMIMObjective` for each field. :meth:`for_parity` is the one place where ``parity``
    overrides another option.
    """

    pairs: tuple[tuple[str, str], ...] = (("text", "vision"), ("text", "audio"))
    alpha: float = 0.1
    beta: float = 0.1
    entropy_weight: float | None = None
    likelihood: Literal["gaussian", "reference"] = "gaussian"
    entropy_memory: int = 1
    parity: bool = False
    cpc_scores: Literal["cosine", "dot"] = "cosine"
    cpc_temperature: float = 1.0
    q_hidden_dim: int | None = None
    q_layers: int = 1
    entropy_eps: float = 1e-3
    min_group_samples: int = 2

    def for_parity(self) -> MMIMObjectiveOptions:
        """These options with ``parity``'s override applied: the reference's truncated likelihood.

        Example:
            >>> MMIMObjectiveOptions(parity=True).for_parity().likelihood
            'reference'
        """
        return dataclasses.replace(self, likelihood="reference") if self.parity else self
