"""MMIM's hierarchical MI objective on any encoders (Han, Chen, Poria, "Improving Multimodal Fusion with
Hierarchical Mutual Information Maximization for Multimodal Sentiment Analysis", EMNLP 2021).

Lower level: a Barber-Agakov bound ``H(Y) + E log q(y|x)`` per modality pair (text->vision, text->audio by
default). Upper level: CPC (InfoNCE) from the fused vector to every modality. The objective returns named
terms with explicit weights (``nce``: +alpha, ``ba_<x>_<y>_lld`` and ``ba_<x>_<y>_entropy``: -beta) and
``estimator_loss``, the q networks' negative log-likelihood on detached inputs (MMIM's stage 1 in
efficient form: the terms are computed with q frozen, so one backward of
``task + sum(w * v) + estimator_loss`` trains q only through its own loss). :meth:`MMIMObjective.stage1_loss`
is the reference's separate stage 1 instead: ``-sum lld`` on the live representations, with no side effect
on the entropy memory or the batch index.

Soundness (default): both BA terms are computed on y standardised per feature over the batch, with the
gradient through the statistics (:func:`standardize_features`): H is the label-split Gaussian-mixture
entropy of the *same* standardised y that q models (ridge relative to the variance), and q's
log-variance is softly bounded. A per-feature affine map leaves I(X; Y) unchanged, and the bound is
invariant to rescaling y, as a whole or per feature (down to a relative variance of
``STANDARDIZE_EPS``), so the encoders cannot raise it by shrinking y or some of its features (the raw-y
form let q's sigma run to its floor over a full run: docs/models.md, MMIM). q's sigma reads in
standard units (about 1: q predicts nothing); ``sigma_min`` is that of its best-predicted feature.
``parity=True`` (with ``likelihood="reference"``) reproduces the reference instead (checked step by step
against MMSA 2.2.1 in ``tests/models/test_mmim_vs_mmsa.py``): log q on the raw y with the truncated
log-likelihood and q's raw log-variance, H on a tanh projection to D/4 dims that no optimiser ever steps,
on the biased covariance without a ridge, computed once the memory holds a batch and added only once the
batch index exceeds the memory size (memory 1), and q trained only in the separate stage 1
(``estimator_loss`` is None in stage 2; the BA terms reach q's parameters there only through the clipping
norm, as in the reference).

Example:
    >>> import torch
    >>> objective = MMIMObjective({"text": 8, "audio": 4, "vision": 4}, fused_dim=6)
    >>> uni = {"text": torch.randn(8, 8), "audio": torch.randn(8, 4), "vision": torch.randn(8, 4)}
    >>> out = objective(uni, torch.randn(8, 6), torch.tensor([1.0, -1.0] * 4))
    >>> sorted(out.terms)
    ['ba_text_audio_entropy', 'ba_text_audio_lld', 'ba_text_vision_entropy', 'ba_text_vision_lld', 'nce']
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import torch
from torch import Tensor, nn

from mifusion.errors import ConfigError, ShapeError
from mifusion.estimators.barber_agakov import LIKELIHOODS, GaussianConditional
from mifusion.estimators.base import EstimatorModule
from mifusion.estimators.critics import SCALE_FLOOR
from mifusion.estimators.entropy import LabelSplitEntropy
from mifusion.estimators.functional import gaussian_log_likelihood
from mifusion.estimators.infonce import InfoNCE
from mifusion.estimators.mmim_options import MMIMObjectiveOptions
from mifusion.estimators.penalty import frozen, ordered_modalities
from mifusion.objectives import WeightedTerm

STANDARDIZE_EPS = 1e-6
"""Ridge of :func:`standardize_features`, relative to the mean variance of y's features."""


def standardize_features(y: Tensor, eps: float = STANDARDIZE_EPS) -> Tensor:
    """(B, D) y with each feature centred and scaled to unit variance over the batch, its gradient in
    standard units.

    Each feature's variance gets a ridge of ``eps`` times the mean variance (detached; plus a tiny
    absolute floor), so a constant feature maps to zeros instead of NaN. The value is invariant to
    rescaling y as a whole, and to rescaling single features as long as their variance stays well above
    ``eps`` times the mean; so is the direction of the gradient. Its size is not: the gradient of a
    scale-free function grows as 1/scale, so it is multiplied by each feature's (detached) standard
    deviation: what flows back to y is the gradient with respect to y in units of its own spread (a
    positive per-feature preconditioning, the same at any scale). Biased statistics: a batch of one gives
    zeros.
    """
    with torch.no_grad():
        spread = y.var(0, unbiased=False, keepdim=True)  # (1, D)
        std = torch.sqrt(spread + eps * spread.mean() + SCALE_FLOOR**2)
    y = y.detach() + (y - y.detach()) * std  # same values; gradient multiplied by std
    centred = y - y.mean(0, keepdim=True)  # (B, D)
    variance = centred.pow(2).mean(0, keepdim=True)  # (1, D)
    ridge = eps * variance.mean().detach() + SCALE_FLOOR**2
    return centred * torch.rsqrt(variance + ridge)


class PairEstimate(NamedTuple):
    """Mean log q(y|x) over the batch, and q's sigma per feature of y (mean over the batch, (Dy,))."""

    lld: Tensor
    sigma: Tensor


@dataclass
class MMIMOutput:
    """Named weighted terms, the q networks' own loss, and detached diagnostics."""

    terms: dict[str, WeightedTerm]
    estimator_loss: Tensor | None
    diagnostics: dict[str, Tensor] = field(default_factory=dict)


class PairLikelihood(EstimatorModule):
    """q(y|x) of one modality pair (an estimator-group module: trained only by ``estimator_loss``)."""

    def __init__(
        self, x_dim: int, y_dim: int, hidden_dim: int, num_layers: int, likelihood: str, bounded: bool = True
    ) -> None:
        super().__init__()
        self.q = GaussianConditional(
            x_dim, y_dim, hidden_dim=hidden_dim, num_layers=num_layers, bound_log_variance=bounded
        )
        self.likelihood = likelihood

    def forward(self, x: Tensor, y: Tensor) -> PairEstimate:
        """Mean log q(y|x) over (B, Dx), (B, Dy) rows, and q's sigma per feature."""
        params = self.q(x)
        lld = gaussian_log_likelihood(y, params.mean, params.log_variance, self.likelihood).mean()
        return PairEstimate(lld, torch.exp(0.5 * params.log_variance).mean(0))


class MMIMObjective(nn.Module):
    """BA pair bounds with entropy memory plus CPC from the fused vector, as weighted terms.

    Args:
        dims: modality -> unimodal vector size.
        fused_dim: size of the fused vector.
        pairs: (x, y) modality pairs of the BA bounds.
        alpha: weight of ``nce``.
        beta: the BA terms enter with ``-beta``.
        entropy_weight: weight of the entropy terms (they enter with ``-entropy_weight``); None = ``beta``,
            the method's form; 0 ablates the entropy term alone.
        likelihood: "gaussian" (full log density) or "reference" (MMIM's truncated form).
        entropy_memory: number of earlier batches in the entropy's memory.
        parity: reproduce the reference's entropy behaviour (requires ``likelihood="reference"``).
        cpc_scores: "cosine" (reference) or "dot".
        cpc_temperature: temperature of the CPC scores.
        q_hidden_dim: hidden size of q's MLPs (None: y's size, as in the reference).
        q_layers: number of hidden layers of q's MLPs.
        entropy_eps: relative ridge of the covariances.
        min_group_samples: smaller label groups are left out of the entropy.
    """

    def __init__(
        self,
        dims: Mapping[str, int],
        fused_dim: int,
        *,
        pairs: Sequence[tuple[str, str]] = (("text", "vision"), ("text", "audio")),
        alpha: float = 0.1,
        beta: float = 0.1,
        entropy_weight: float | None = None,
        likelihood: str = "gaussian",
        entropy_memory: int = 1,
        parity: bool = False,
        cpc_scores: str = "cosine",
        cpc_temperature: float = 1.0,
        q_hidden_dim: int | None = None,
        q_layers: int = 1,
        entropy_eps: float = 1e-3,
        min_group_samples: int = 2,
    ) -> None:
        super().__init__()
        if likelihood not in LIKELIHOODS:
            raise ConfigError(f"unknown likelihood {likelihood!r}; choose one of: {', '.join(LIKELIHOODS)}")
        if parity and likelihood != "reference":
            raise ConfigError("parity=True reproduces the reference and needs likelihood='reference'")
        self.dims = {m: int(dims[m]) for m in ordered_modalities(dims)}
        for x, y in pairs:
            if x not in self.dims or y not in self.dims:
                raise ConfigError(f"pair ({x!r}, {y!r}) names a modality not in dims {list(self.dims)}")
        self.pairs = [(x, y) for x, y in pairs]
        self.fused_dim, self.alpha, self.beta, self.parity = fused_dim, alpha, beta, parity
        self.entropy_weight = beta if entropy_weight is None else entropy_weight
        self.entropy_memory = entropy_memory
        self.likelihoods = nn.ModuleDict()
        self.entropies = nn.ModuleDict()
        self.projections = nn.ModuleDict()
        for x, y in self.pairs:
            name = f"{x}_{y}"
            hidden = q_hidden_dim or self.dims[y]
            self.likelihoods[name] = PairLikelihood(
                self.dims[x], self.dims[y], hidden, q_layers, likelihood, bounded=not parity
            )
            self.entropies[name] = LabelSplitEntropy(
                memory_size=entropy_memory,
                form="reference" if parity else "gaussian",
                eps=0.0 if parity else entropy_eps,
                min_group_samples=min_group_samples,
                require_memory=parity,
            )
            if parity:  # the reference's tanh(Linear(y, y/4)): in q's optimiser, which never steps it
                self.projections[name] = nn.Linear(self.dims[y], max(self.dims[y] // 4, 1))
        self.cpc = nn.ModuleDict(
            {
                m: InfoNCE(
                    fused_dim,
                    d,
                    critic="predictor",
                    num_layers=0,
                    scores=cpc_scores,
                    temperature=cpc_temperature,
                    standardize="none",
                    softmax_over="x",
                )
                for m, d in self.dims.items()
            }
        )
        self.batch_index: Tensor
        self.register_buffer("batch_index", torch.zeros((), dtype=torch.long))

    @classmethod
    def from_options(
        cls, dims: Mapping[str, int], fused_dim: int, options: MMIMObjectiveOptions
    ) -> MMIMObjective:
        """The objective of ``options`` (every field of :class:`MMIMObjectiveOptions`, none by hand)."""
        fields = dataclasses.fields(MMIMObjectiveOptions)
        return cls(dims, fused_dim, **{f.name: getattr(options, f.name) for f in fields})

    def new_epoch(self) -> None:
        """Resets the batch index (parity: H enters once it exceeds the memory size) and the memories."""
        self.batch_index.zero_()
        for entropy in self.entropies.values():
            entropy.reset_memory()  # type: ignore[operator]

    def _check(self, unimodal: Mapping[str, Tensor], fused: Tensor, labels: Tensor) -> int:
        if fused.dim() != 2 or fused.shape[1] != self.fused_dim:
            raise ShapeError(f"fused has shape {tuple(fused.shape)}; expected (batch, {self.fused_dim})")
        batch = fused.shape[0]
        for m, size in self.dims.items():
            if m not in unimodal:
                raise ShapeError(f"unimodal lacks {m!r}; pass every modality of dims {list(self.dims)}")
            if unimodal[m].shape != (batch, size):
                raise ShapeError(
                    f'unimodal["{m}"] has shape {tuple(unimodal[m].shape)}; expected ({batch}, {size})'
                )
        if labels.reshape(-1).shape[0] != batch:
            raise ShapeError(f"labels has shape {tuple(labels.shape)}; expected ({batch},)")
        return batch

    def stage1_loss(self, unimodal: Mapping[str, Tensor]) -> Tensor:
        """The reference's stage-1 loss ``-sum_pairs E log q(y|x)`` on the live (B, D_m) vectors.

        Back-propagated into every parameter; only q's optimiser steps on it. No side effects: the entropy
        memory and the batch index are left as they are.
        """
        loss = next(iter(unimodal.values())).new_zeros(())
        for x, y in self.pairs:
            target = unimodal[y] if self.parity else standardize_features(unimodal[y])
            lld, _ = self.likelihoods[f"{x}_{y}"](unimodal[x], target)
            loss = loss - lld
        return loss

    def forward(self, unimodal: Mapping[str, Tensor], fused: Tensor, labels: Tensor) -> MMIMOutput:
        """Terms from modality -> (B, D_m) vectors, (B, D_f) fused vector and (B,) labels."""
        batch = self._check(unimodal, fused, labels)
        labels = labels.reshape(-1).detach()
        terms: dict[str, WeightedTerm] = {}
        diagnostics: dict[str, Tensor] = {}
        nce = fused.new_zeros(())
        for m, cpc in self.cpc.items():
            out = cpc(fused, unimodal[m])
            nce = nce + (math.log(max(batch, 1)) - out.estimate)
            diagnostics[f"nce/{m}"] = out.estimate.detach()
        terms["nce"] = WeightedTerm(nce, self.alpha)
        estimator_loss: Tensor | None = None if self.parity else fused.new_zeros(())
        # parity: H enters the loss only once the batch index exceeds the memory size (reference)
        entropy_weight = self.entropy_weight
        if self.parity and int(self.batch_index) <= self.entropy_memory:
            entropy_weight = 0.0
        for x, y in self.pairs:
            name = f"{x}_{y}"
            pair = self.likelihoods[name]
            # parity: the raw y (H then on its projection); default: y standardised per feature (scale-free)
            target = unimodal[y] if self.parity else standardize_features(unimodal[y])
            if self.parity:  # live q: its gradients count in the reference's clipping norm
                lld, sigma = pair(unimodal[x], target)
            else:
                with frozen(pair):
                    lld, sigma = pair(unimodal[x], target)
                own_lld, _ = pair(unimodal[x].detach(), target.detach())
                estimator_loss = estimator_loss - own_lld
            terms[f"ba_{name}_lld"] = WeightedTerm(lld, -self.beta)
            if self.parity:
                target = torch.tanh(self.projections[name](target))
            entropy = self.entropies[name](target, labels)
            value = entropy.value if not entropy.skipped else lld.new_zeros(())
            terms[f"ba_{name}_entropy"] = WeightedTerm(value, -entropy_weight)
            diagnostics[f"ba_{name}/sigma_mean"] = sigma.detach().mean()
            diagnostics[f"ba_{name}/sigma_min"] = sigma.detach().min()  # the best-predicted feature
        for m in self.dims:
            diagnostics[f"norm/{m}"] = unimodal[m].detach().norm(dim=-1).mean()
        diagnostics["norm/fused"] = fused.detach().norm(dim=-1).mean()
        skipped = [e.skipped_count for e in self.entropies.values() if isinstance(e, LabelSplitEntropy)]
        diagnostics["entropy_skipped"] = (
            torch.stack(skipped).sum().float() if skipped else fused.new_zeros(())
        )
        if self.training:
            self.batch_index += 1
        return MMIMOutput(terms, estimator_loss, diagnostics)
