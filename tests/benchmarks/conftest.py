"""The benchmark scripts are top-level modules of ``benchmarks/``: import them from there, then forget them."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
MODULES = (
    "common", "mmim_vs_reference", "mmsa_side", "memory_profile", "step_profile", "train_throughput", "scaling",
    "predict_throughput", "gpu_epoch", "mmim_equivalence", "mmsa_oracle",
)  # fmt: skip


def _forget() -> None:
    """Drops these top-level names from sys.modules (other scripts folders have a ``common`` too)."""
    for name in MODULES:
        sys.modules.pop(name, None)


@pytest.fixture
def benchmarks_on_path() -> Iterator[None]:
    """``benchmarks/`` first on sys.path for one test, with its modules imported afresh."""
    _forget()
    sys.path.insert(0, str(BENCHMARKS))
    yield
    sys.path.remove(str(BENCHMARKS))
    _forget()
