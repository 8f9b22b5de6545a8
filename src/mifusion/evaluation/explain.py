"""``mifusion explain``: how consistent each test sample's modalities look to a statistics network.

Two scorers, reported side by side:

- ``penalty``: the run's own statistics network as trained, i.e. its dependency penalty's critic
  (``FusionModel.consistency_scores``: ``DependencyPenalty.pointwise_scores`` on the tapped
  representations). Only for runs trained with a penalty.
- ``refit``: a statistics network fitted after training on the frozen model's training-split
  representations, intact rows against rows with one modality from another sample
  (:mod:`mifusion.evaluation.statistics_network`). Available for every run with two or more modalities.

Per scorer: each test sample's score (higher = modalities look jointly drawn); per-modality attribution
(mean score drop when that modality is swapped with another sample's); and the AUROC of intact against
one-modality-swapped test samples. A swap gives sample i the modality of sample ``perm[i]``, where
``perm`` is one fixed random cycle over the whole test split (a derangement: no sample keeps its own, and
every sample's modality is used once, so the swapped set has the same marginals as the intact one).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from mifusion.data.dataset import SplitData
from mifusion.data.loader import iterate, sequential
from mifusion.errors import ConfigError, DataError
from mifusion.evaluation.statistics_network import DEFAULT_FIT, FitSettings, fit_statistics_network

SWAP_SEED = 0
"""Seed of the test split's swap permutation (fixed, so every scorer and seed sees the same swaps)."""

Scorer = Callable[[SplitData], np.ndarray]


def derangement(n: int, seed: int = SWAP_SEED) -> np.ndarray:
    """(n,) one random cycle through all n indices: ``perm[i] != i`` and every index used once.

    Example:
        >>> perm = derangement(6)
        >>> sorted(perm.tolist()) == list(range(6)), bool((perm != np.arange(6)).all())
        (True, True)
    """
    if n < 2:
        raise DataError(f"the test split has {n} sample(s); swapping modalities needs at least 2")
    order = np.random.default_rng(seed).permutation(n)
    perm = np.empty(n, dtype=np.int64)
    perm[order] = np.roll(order, -1)
    return perm


def swap_split(split: SplitData, modality: str, perm: np.ndarray) -> SplitData:
    """A copy of ``split`` where sample i carries modality ``modality`` of sample ``perm[i]``."""
    out = split.subset(np.arange(len(split)))
    if modality in out.sequences:
        out.sequences[modality] = split.sequences[modality][perm]
        out.lengths[modality] = split.lengths[modality][perm]
    if modality == "text":
        if split.token_ids is not None and split.token_lengths is not None:
            out.token_ids, out.token_lengths = split.token_ids[perm], split.token_lengths[perm]
        if split.raw_text is not None:
            out.raw_text = [split.raw_text[i] for i in perm]
    return out


def auroc(positive: np.ndarray, negative: np.ndarray) -> float:
    """Probability that a positive scores above a negative (ties count half): the ROC AUC.

    Example:
        >>> auroc(np.array([2.0, 3.0]), np.array([1.0, 2.0]))
        0.875
    """
    from scipy.stats import rankdata

    ranks = rankdata(np.concatenate([positive, negative]))
    n_pos, n_neg = len(positive), len(negative)
    return float((ranks[:n_pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


@dataclass
class Explanation:
    """Scores of intact samples and of samples with one modality swapped."""

    ids: list[str]
    intact: np.ndarray  # (N,)
    swapped: dict[str, np.ndarray]  # modality -> (N,)

    def attribution(self) -> dict[str, float]:
        """Mean score drop per swapped modality."""
        return {m: float(np.mean(self.intact - s)) for m, s in self.swapped.items()}

    def auroc(self) -> dict[str, float]:
        """AUROC of intact vs swapped per modality, and over all swaps ('all')."""
        out = {m: auroc(self.intact, s) for m, s in self.swapped.items()}
        out["all"] = auroc(self.intact, np.concatenate(list(self.swapped.values())))
        return out


def explain_with(score: Scorer, split: SplitData, modalities: tuple[str, ...]) -> Explanation:
    """Scores ``split`` intact and with each modality swapped along :func:`derangement`."""
    perm = derangement(len(split))
    return Explanation(
        [str(i) for i in split.ids],
        score(split),
        {m: score(swap_split(split, m, perm)) for m in modalities},
    )


def has_penalty_scores(run: Any) -> bool:
    """Whether the run's model has its own statistics network (a dependency penalty, or MMIM's)."""
    return bool(run.model.has_consistency_scores)


def penalty_scorer(run: Any, batch_size: int = 128) -> Scorer:
    """Scores a prepared split with the run's penalty critic as trained (dataset order)."""

    def score(split: SplitData) -> np.ndarray:
        batches = sequential(split, max(batch_size, 2))
        parts = [run.consistency_scores(b) for b in iterate(split, batches, run.spec.modalities)]
        return np.concatenate(parts)

    return score


def refit_scorer(run: Any, train: SplitData, settings: FitSettings = DEFAULT_FIT) -> Scorer:
    """Fits a statistics network on the frozen model's representations of ``train``; returns its scorer."""
    reps = run.representations(train)
    if len(reps) < 2:
        raise ConfigError(
            f"{run.run_dir}: the model exposes {len(reps)} per-modality representation(s); "
            "a statistics network needs two or more modalities (train with --modalities of 2 or more)"
        )
    net = fit_statistics_network(reps, settings)

    def score(split: SplitData) -> np.ndarray:
        with torch.no_grad():
            return net.score(run.representations(split)).numpy()

    return score


def explain_split(run: Any, split: SplitData, batch_size: int = 128) -> Explanation:
    """The penalty critic's :class:`Explanation` of a prepared split (intact and every swap)."""
    if not has_penalty_scores(run):
        raise ConfigError(
            f"{run.run_dir}: this model has no dependency penalty to score with; train with "
            "--penalty ESTIMATOR, or use the refitted statistics network (mifusion explain)"
        )
    return explain_with(penalty_scorer(run, batch_size), split, tuple(run.spec.modalities))


def explain_seed(
    run: Any, prepared: Any, settings: FitSettings | None = DEFAULT_FIT
) -> dict[str, Explanation]:
    """scorer name ('penalty', 'refit') -> :class:`Explanation` of ``prepared['test']``.

    ``settings=None`` (or ``steps=0``) skips the refitted statistics network.
    """
    test, modalities = prepared["test"], tuple(run.spec.modalities)
    out: dict[str, Explanation] = {}
    if has_penalty_scores(run):
        out["penalty"] = explain_split(run, test, run.cfg.train.eval_batch_size)
    if settings is not None and settings.steps > 0:
        out["refit"] = explain_with(refit_scorer(run, prepared["train"], settings), test, modalities)
    if not out:
        raise ConfigError(
            f"{run.run_dir}: nothing to score with: the run has no penalty and --refit-steps is 0; "
            "drop --refit-steps 0"
        )
    return out
