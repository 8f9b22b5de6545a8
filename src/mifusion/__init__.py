"""mifusion: multimodal sentiment analysis with mutual-information objectives.

The public API lives here. Every name in ``__all__`` is resolved lazily on first access, so
``import mifusion`` does no I/O, imports neither torch nor transformers nor matplotlib, chooses no
device and changes no global setting; ``mifusion.DependencyPenalty`` imports what it needs.

Example:
    >>> import mifusion
    >>> mifusion.__version__
    '0.1.0'
    >>> "DependencyPenalty" in mifusion.__all__
    True
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> (module, attribute in that module)
_EXPORTS: dict[str, tuple[str, str]] = {
    # objectives you add to your own model
    "DependencyPenalty": ("mifusion.estimators.penalty", "DependencyPenalty"),
    "PenaltyOutput": ("mifusion.estimators.penalty", "PenaltyOutput"),
    "MMIMObjective": ("mifusion.estimators.mmim", "MMIMObjective"),
    "MMIMOutput": ("mifusion.estimators.mmim", "MMIMOutput"),
    # estimators and their registry, for building your own objective
    "ESTIMATORS": ("mifusion.estimators", "ESTIMATORS"),  # the package registers every family
    "Bound": ("mifusion.estimators.base", "Bound"),
    "MIOutput": ("mifusion.estimators.base", "MIOutput"),
    "MIEstimator": ("mifusion.estimators.base", "MIEstimator"),
    "EstimatorModule": ("mifusion.estimators.base", "EstimatorModule"),
    "EstimatorEntry": ("mifusion.estimators.base", "EstimatorEntry"),
    # one module per family ...
    "DonskerVaradhan": ("mifusion.estimators.donsker_varadhan", "DonskerVaradhan"),
    "NWJ": ("mifusion.estimators.nwj", "NWJ"),
    "JensenShannon": ("mifusion.estimators.jensen_shannon", "JensenShannon"),
    "SMILE": ("mifusion.estimators.smile", "SMILE"),
    "InfoNCE": ("mifusion.estimators.infonce", "InfoNCE"),
    "Wasserstein": ("mifusion.estimators.wasserstein", "Wasserstein"),
    "CLUB": ("mifusion.estimators.club", "CLUB"),
    "BarberAgakov": ("mifusion.estimators.barber_agakov", "BarberAgakov"),
    # ... its critics ...
    "JointCritic": ("mifusion.estimators.critics", "JointCritic"),
    "SeparableCritic": ("mifusion.estimators.critics", "SeparableCritic"),
    "build_critic": ("mifusion.estimators.critics", "build_critic"),
    # ... and the pure bound of each family, on critic scores
    "dv_bound": ("mifusion.estimators.functional", "dv_bound"),
    "nwj_bound": ("mifusion.estimators.functional", "nwj_bound"),
    "js_objective": ("mifusion.estimators.functional", "js_objective"),
    "js_divergence": ("mifusion.estimators.functional", "js_divergence"),
    "smile_bound": ("mifusion.estimators.functional", "smile_bound"),
    "wasserstein_bound": ("mifusion.estimators.functional", "wasserstein_bound"),
    "infonce_bound": ("mifusion.estimators.functional", "infonce_bound"),
    "club_bound": ("mifusion.estimators.functional", "club_bound"),
    # objective composition
    "WeightedTerm": ("mifusion.objectives", "WeightedTerm"),
    "compose_loss": ("mifusion.objectives", "compose_loss"),
    # data
    "load_data": ("mifusion.api", "load_data"),
    "iterate_batches": ("mifusion.api", "iterate_batches"),
    "load_dataset": ("mifusion.data.io", "load_dataset"),
    "MultimodalDataset": ("mifusion.data.dataset", "MultimodalDataset"),
    "SplitData": ("mifusion.data.dataset", "SplitData"),
    "MultimodalBatch": ("mifusion.data.batch", "MultimodalBatch"),
    "collate": ("mifusion.data.batch", "collate"),
    # scoring
    "score": ("mifusion.api", "score"),
    "compute_metrics": ("mifusion.metrics", "compute_metrics"),
    "format_table": ("mifusion.metrics", "format_table"),
    # models and trained runs
    "build_model": ("mifusion.models.build", "build_model"),
    "load_run": ("mifusion.experiments.run", "load_run"),
    "TrainedRun": ("mifusion.experiments.run", "TrainedRun"),
    # errors
    "MifusionError": ("mifusion.errors", "MifusionError"),
    "DataError": ("mifusion.errors", "DataError"),
    "ConfigError": ("mifusion.errors", "ConfigError"),
    "ShapeError": ("mifusion.errors", "ShapeError"),
}

__all__ = [
    "CLUB",
    "ESTIMATORS",
    "NWJ",
    "SMILE",
    "BarberAgakov",
    "Bound",
    "ConfigError",
    "DataError",
    "DependencyPenalty",
    "DonskerVaradhan",
    "EstimatorEntry",
    "EstimatorModule",
    "InfoNCE",
    "JensenShannon",
    "JointCritic",
    "MIEstimator",
    "MIOutput",
    "MMIMObjective",
    "MMIMOutput",
    "MifusionError",
    "MultimodalBatch",
    "MultimodalDataset",
    "PenaltyOutput",
    "SeparableCritic",
    "ShapeError",
    "SplitData",
    "TrainedRun",
    "Wasserstein",
    "WeightedTerm",
    "__version__",
    "build_critic",
    "build_model",
    "club_bound",
    "collate",
    "compose_loss",
    "compute_metrics",
    "dv_bound",
    "format_table",
    "infonce_bound",
    "iterate_batches",
    "js_divergence",
    "js_objective",
    "load_data",
    "load_dataset",
    "load_run",
    "nwj_bound",
    "score",
    "smile_bound",
    "wasserstein_bound",
]  # the same names as _EXPORTS (checked by tests/test_public_api.py)

if TYPE_CHECKING:  # static analysers and IDEs see the real objects; nothing is imported at run time
    from mifusion.api import iterate_batches, load_data, score
    from mifusion.data.batch import MultimodalBatch, collate
    from mifusion.data.dataset import MultimodalDataset, SplitData
    from mifusion.data.io import load_dataset
    from mifusion.errors import ConfigError, DataError, MifusionError, ShapeError
    from mifusion.estimators import ESTIMATORS
    from mifusion.estimators.barber_agakov import BarberAgakov
    from mifusion.estimators.base import Bound, EstimatorEntry, EstimatorModule, MIEstimator, MIOutput
    from mifusion.estimators.club import CLUB
    from mifusion.estimators.critics import JointCritic, SeparableCritic, build_critic
    from mifusion.estimators.donsker_varadhan import DonskerVaradhan
    from mifusion.estimators.functional import (
        club_bound,
        dv_bound,
        infonce_bound,
        js_divergence,
        js_objective,
        nwj_bound,
        smile_bound,
        wasserstein_bound,
    )
    from mifusion.estimators.infonce import InfoNCE
    from mifusion.estimators.jensen_shannon import JensenShannon
    from mifusion.estimators.mmim import MMIMObjective, MMIMOutput
    from mifusion.estimators.nwj import NWJ
    from mifusion.estimators.penalty import DependencyPenalty, PenaltyOutput
    from mifusion.estimators.smile import SMILE
    from mifusion.estimators.wasserstein import Wasserstein
    from mifusion.experiments.run import TrainedRun, load_run
    from mifusion.metrics import compute_metrics, format_table
    from mifusion.models.build import build_model
    from mifusion.objectives import WeightedTerm, compose_loss


def __getattr__(name: str) -> Any:
    """Imports a public object on first access (PEP 562) and caches it in the module namespace."""
    target = _EXPORTS.get(name)
    if target is None:
        raise AttributeError(f"module 'mifusion' has no attribute {name!r}")
    module_name, attribute = target
    value = getattr(importlib.import_module(module_name), attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
