"""InfoNCE / CPC (Oord, Li, Vinyals, "Representation Learning with Contrastive Predictive Coding", 2018).

``I(X; Y) >= mean_i [s_ii - log mean_j exp s_ij]`` from a (B, B) matrix of in-batch scores, which never
exceeds log B. Scores come from a critic over all pairs (``critic="joint"`` or ``"separable"``) or, as in
CPC and MMIM, from a ``"predictor"`` mapping x into y's space with cosine or dot-product scores divided by
a temperature. InfoNCE always uses every in-batch pair: the ``negatives`` argument is accepted and ignored.

``softmax_over`` picks the direction of the normalisation: ``"y"`` (default) contrasts each x_i with every
y_j; ``"x"`` contrasts each y_i with every x_j, i.e. with every prediction from x. MMIM's CPC (REFERENCE 1.1;
the reference code's ``logsumexp(h @ g(z).T)``) uses ``"x"``: each modality vector h_i against all
predictions g(z_j). Both are lower bounds of I(X; Y); they differ per batch.

Example:
    >>> import torch
    >>> est = InfoNCE(4, 3, critic="predictor", num_layers=0, scores="cosine")
    >>> out = est(torch.randn(8, 4), torch.randn(8, 3))
    >>> bool(out.estimate <= torch.log(torch.tensor(8.0)))
    True
"""

from __future__ import annotations

import math
from typing import Any

import torch.nn.functional as F
from torch import Tensor

from mifusion.errors import ConfigError
from mifusion.estimators.base import ESTIMATORS, Bound, EstimatorEntry, MIEstimator, MIOutput
from mifusion.estimators.critic_estimator import check_choice, check_views, skipped_output
from mifusion.estimators.critics import CRITICS, STANDARDIZE_MODES, Standardizer, build_critic, mlp
from mifusion.estimators.functional import infonce_bound

SCORES = ("cosine", "dot")
SOFTMAX_OVER = ("y", "x")


class InfoNCE(MIEstimator):
    """InfoNCE lower bound of I(X; Y), capped at log B.

    Args:
        x_dim: feature size of x.
        y_dim: feature size of y.
        hidden_dim: width of the critic or predictor.
        num_layers: its number of hidden layers (``0``: a linear predictor).
        critic: "separable" (default: all B x B scores from one matrix product), "joint" (an MLP on
            each of the B^2 concatenated pairs: costly at large B) or "predictor".
        scores: "cosine" or "dot" (predictor only).
        temperature: scores are divided by it.
        negatives: accepted and ignored (InfoNCE always uses every in-batch pair).
        standardize: input standardisation, "running" by default (see :mod:`mifusion.estimators.critics`).
        softmax_over: "y" (each x_i against all y_j) or "x" (each y_i against all x_j; MMIM's CPC).
    """

    bound = Bound.LOWER

    def __init__(
        self,
        x_dim: int,
        y_dim: int,
        *,
        hidden_dim: int = 128,
        num_layers: int = 2,
        critic: str = "separable",
        negatives: str = "all_pairs",
        scores: str = "cosine",
        temperature: float = 1.0,
        standardize: str = "running",
        softmax_over: str = "y",
    ) -> None:
        super().__init__()
        check_choice("critic", critic, (*CRITICS, "predictor"))
        check_choice("scores", scores, SCORES)
        check_choice("standardize", standardize, STANDARDIZE_MODES)
        check_choice("softmax_over", softmax_over, SOFTMAX_OVER)
        if temperature <= 0:
            raise ConfigError(f"temperature must be positive, got {temperature}")
        self.dims = (x_dim, y_dim)
        self.kind = critic
        self.score_kind = scores
        self.temperature = temperature
        self.standardize = standardize
        self.softmax_over = softmax_over
        self.standardizer = Standardizer(self.dims, standardize)
        if critic == "predictor":
            self.predictor = mlp(x_dim, hidden_dim, num_layers, y_dim)
        else:
            self.critic = build_critic(critic, self.dims, hidden_dim=hidden_dim, num_layers=num_layers)

    def score_matrix(self, x: Tensor, y: Tensor) -> Tensor:
        """(B, B) scores s_ij of x_i against y_j, divided by the temperature."""
        x, y = self.standardizer([x, y])
        if self.kind != "predictor":
            return self.critic.pair_matrix(x, y) / self.temperature
        predicted = self.predictor(x)  # (B, Dy)
        if self.score_kind == "cosine":
            predicted, y = F.normalize(predicted, dim=-1), F.normalize(y, dim=-1)
        return predicted @ y.T / self.temperature

    def pointwise(self, x: Tensor, y: Tensor) -> Tensor:
        """(B,) score of each sample's own pair."""
        check_views((x, y), self.dims, "InfoNCE")
        return self.score_matrix(x, y).diagonal()

    def forward(self, x: Tensor, y: Tensor) -> MIOutput:
        """Estimate from (B, Dx) and (B, Dy) paired rows."""
        check_views((x, y), self.dims, "InfoNCE")
        if x.shape[0] < 2:
            return skipped_output((x, y))
        matrix = self.score_matrix(x, y)  # (B, B): s_ij of x_i against y_j
        estimate = infonce_bound(matrix if self.softmax_over == "y" else matrix.T)
        diagnostics = {
            "positive_score_mean": matrix.detach().diagonal().mean(),
            "log_batch": matrix.new_tensor(math.log(x.shape[0])),
        }
        return MIOutput(estimate, -estimate, diagnostics)


def _build(x_dim: int, y_dim: int, *more_dims: int, critic: str = "separable", **options: Any) -> InfoNCE:
    """Registry builder; InfoNCE's critic defaults to "separable" (one matrix product for B^2 scores)."""
    if more_dims:
        raise ConfigError("infonce estimates I(X; Y) of two variables; use scope 'pairwise' for 3 modalities")
    return InfoNCE(x_dim, y_dim, critic=critic, **options)


ESTIMATORS.add(
    "infonce",
    EstimatorEntry(
        _build,
        Bound.LOWER,
        "mi",
        "InfoNCE / CPC: in-batch contrastive bound, at most log B",
        "Oord, Li & Vinyals, Representation Learning with Contrastive Predictive Coding, 2018",
    ),
)
