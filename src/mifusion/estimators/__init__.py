"""Mutual-information and dependency estimators: pure bounds, critics, negatives and one module per family.

Importing this package registers every family in :data:`ESTIMATORS`: ``ba``, ``infonce``, ``dv``,
``mine``, ``nwj``, ``js``, ``smile``, ``wasserstein_gp``, ``wasserstein_sn`` and ``club``.

Example:
    >>> from mifusion.estimators import ESTIMATORS
    >>> est = ESTIMATORS.get("js").builder(4, 3, hidden_dim=16)
    >>> type(est).__name__
    'JensenShannon'
"""

from __future__ import annotations

from mifusion.estimators import (
    barber_agakov,
    club,
    donsker_varadhan,
    infonce,
    jensen_shannon,
    nwj,
    smile,
    wasserstein,
)
from mifusion.estimators.barber_agakov import BarberAgakov, GaussianConditional
from mifusion.estimators.base import (
    ESTIMATORS,
    Bound,
    EstimatorEntry,
    EstimatorModule,
    MIEstimator,
    MIOutput,
)
from mifusion.estimators.club import CLUB
from mifusion.estimators.critic_estimator import CriticEstimator
from mifusion.estimators.critics import JointCritic, SeparableCritic, build_critic, standardize
from mifusion.estimators.donsker_varadhan import DonskerVaradhan
from mifusion.estimators.entropy import EntropyEstimate, LabelSplitEntropy, label_split_entropy
from mifusion.estimators.infonce import InfoNCE
from mifusion.estimators.jensen_shannon import JensenShannon
from mifusion.estimators.mixture_conditional import MixtureConditional
from mifusion.estimators.mmim import MMIMObjective, MMIMOutput, PairLikelihood
from mifusion.estimators.negatives import derangement, negative_indices
from mifusion.estimators.nwj import NWJ
from mifusion.estimators.penalty import DependencyPenalty, PenaltyOutput
from mifusion.estimators.smile import SMILE
from mifusion.estimators.wasserstein import Wasserstein, critic_gradient_norms

__all__ = [
    "CLUB",
    "ESTIMATORS",
    "NWJ",
    "SMILE",
    "BarberAgakov",
    "Bound",
    "CriticEstimator",
    "DependencyPenalty",
    "DonskerVaradhan",
    "EntropyEstimate",
    "EstimatorEntry",
    "EstimatorModule",
    "GaussianConditional",
    "InfoNCE",
    "JensenShannon",
    "JointCritic",
    "LabelSplitEntropy",
    "MIEstimator",
    "MIOutput",
    "MMIMObjective",
    "MMIMOutput",
    "MixtureConditional",
    "PairLikelihood",
    "PenaltyOutput",
    "SeparableCritic",
    "Wasserstein",
    "barber_agakov",
    "build_critic",
    "club",
    "critic_gradient_norms",
    "derangement",
    "donsker_varadhan",
    "infonce",
    "jensen_shannon",
    "label_split_entropy",
    "negative_indices",
    "nwj",
    "smile",
    "standardize",
    "wasserstein",
]
