"""benchmarks/text_ceiling.py regenerates the generator's text parameters and its posterior beats a constant."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "text_ceiling.py"


def _module():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("benchmarks_text_ceiling", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["benchmarks_text_ceiling"] = module
    spec.loader.exec_module(module)
    return module


def _counts(split, vocab: int) -> np.ndarray:  # type: ignore[no-untyped-def]
    ids = np.asarray(split.token_ids)
    counts = np.zeros((len(ids), vocab))
    np.add.at(counts, (np.repeat(np.arange(len(ids)), ids.shape[1]), ids.reshape(-1)), 1.0)
    return counts[:, 3:]


def test_regenerated_polarity_is_the_generators_and_the_posterior_median_beats_the_constant() -> None:
    module = _module()
    from mifusion.data.synthetic import SynthParams, generate

    params = SynthParams(max_lengths={"audio": 4, "vision": 4})
    test = generate("mosi", n=300, seed=5, params=params)["test"]
    counts, labels = _counts(test, params.vocab_size), np.asarray(test.labels, dtype=float)
    _, polarity, _, _ = module.text_parameters(5, params)
    score = counts @ polarity / counts.sum(axis=1)
    assert np.corrcoef(score, labels)[0, 1] > 0.5  # another seed's or stream's polarity gives about 0
    _, other, _, _ = module.text_parameters(6, params)
    assert abs(np.corrcoef(counts @ other / counts.sum(axis=1), labels)[0, 1]) < 0.3
    pred = module.posterior_medians(counts, 5, params, draws=2000, mc_seed=0)
    constant = np.mean(np.abs(np.median(labels) - labels))
    assert np.mean(np.abs(pred - labels)) < 0.75 * constant
