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
    "MMIMObjective": ("mifusion.estimators", "MMIMObjective"),
    "MMIMOutput": ("mifusion.estimators", "MMIMOutput"),
    # estimators and their registry, for building your own objective
    "ESTIMATORS": ("mifusion.estimators", "ESTIMATORS"),  # the package registers every family
    "Bound": ("mifusion.estimators.base", "Bound"),
    "MIOutput": ("mifusion.estimators.base", "MIOutput"),
    "MIEstimator": ("mifusion.estimators.base", "MIEstimator"),
    "EstimatorModule": ("mifusion.estimators.base", "EstimatorModule"),
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
    "load_run": ("mifusion.evaluation.run", "load_run"),
    "TrainedRun": ("mifusion.evaluation.run", "TrainedRun"),
    # errors
    "MifusionError": ("mifusion.errors", "MifusionError"),
    "DataError": ("mifusion.errors", "DataError"),
    "ConfigError": ("mifusion.errors", "ConfigError"),
    "ShapeError": ("mifusion.errors", "ShapeError"),
}

__all__ = [
    "ESTIMATORS",
    "Bound",
    "ConfigError",
    "DataError",
    "DependencyPenalty",
    "EstimatorModule",
    "MIEstimator",
    "MIOutput",
    "MMIMObjective",
    "MMIMOutput",
    "MifusionError",
    "MultimodalBatch",
    "MultimodalDataset",
    "PenaltyOutput",
    "ShapeError",
    "SplitData",
    "TrainedRun",
    "WeightedTerm",
    "__version__",
    "build_model",
    "collate",
    "compose_loss",
    "compute_metrics",
    "format_table",
    "iterate_batches",
    "load_data",
    "load_dataset",
    "load_run",
    "score",
]  # the same names as _EXPORTS (checked by tests/test_public_api.py)

if TYPE_CHECKING:  # static analysers and IDEs see the real objects; nothing is imported at run time
    from mifusion.api import iterate_batches, load_data, score
    from mifusion.data.batch import MultimodalBatch, collate
    from mifusion.data.dataset import MultimodalDataset, SplitData
    from mifusion.errors import ConfigError, DataError, MifusionError, ShapeError
    from mifusion.estimators.base import ESTIMATORS, Bound, EstimatorModule, MIEstimator, MIOutput
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
