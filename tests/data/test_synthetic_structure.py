"""The generator's declared parameters control what the data carries: signal and shared strength."""

from __future__ import annotations

import numpy as np
import pytest

from mifusion.data.synthetic import SynthParams, generate
from mifusion.metrics import functional as F

SEED = 0
SHORT = {"text": 16, "audio": 16, "vision": 16}


def _time_average(split, modality):
    if modality == "text":  # bag of words over the content tokens
        out = np.zeros((len(split), 200))
        for i, (row, length) in enumerate(zip(split.token_ids, split.token_lengths)):
            np.add.at(out[i], row[1 : length - 1], 1.0 / (length - 2))
        return out
    lengths = np.maximum(split.lengths[modality], 1)[:, None]
    return split.sequences[modality].sum(axis=1) / lengths


def _ridge_mae(ds, modality, penalty=10.0):
    train, test = ds["train"], ds["test"]
    x, x_test = _time_average(train, modality), _time_average(test, modality)
    mean, std = x.mean(0), x.std(0) + 1e-8
    a, b = (x - mean) / std, (x_test - mean) / std
    y = train.labels - train.labels.mean()
    w = np.linalg.solve(a.T @ a + penalty * np.eye(a.shape[1]), a.T @ y)
    return F.mae(b @ w + train.labels.mean(), test.labels)


def _first_canonical_correlation(x, y):
    def whiten(z):
        z = z - z.mean(0)
        u, s, _ = np.linalg.svd(z, full_matrices=False)
        return u[:, s > 1e-8 * s[0]]

    return float(np.linalg.svd(whiten(x).T @ whiten(y), compute_uv=False)[0])


@pytest.mark.parametrize("modality", ["text", "audio", "vision"])
def test_more_signal_gives_lower_ridge_mae(modality):
    maes = []
    for signal in (0.0, 0.5, 1.5):
        params = SynthParams(max_lengths=SHORT, **{f"{modality}_signal": signal})
        maes.append(_ridge_mae(generate(n=1000, seed=SEED, params=params), modality))
    assert maes[0] > maes[1] + 0.05 > maes[2] + 0.1, maes


def test_shared_strength_controls_cross_modal_dependence():
    silent = {"text_signal": 0.0, "audio_signal": 0.0, "vision_signal": 0.0}
    cc = []
    for shared in (0.0, 1.0):
        ds = generate(n=1000, seed=0, params=SynthParams(max_lengths=SHORT, shared_strength=shared, **silent))
        cc.append(
            _first_canonical_correlation(
                _time_average(ds["train"], "audio"), _time_average(ds["train"], "vision")
            )
        )
    assert cc[1] > cc[0] + 0.3, cc


def test_default_text_is_the_strongest_modality():
    ds = generate(n=1000, seed=0, params=SynthParams(max_lengths=SHORT))
    maes = {m: _ridge_mae(ds, m) for m in ("text", "audio", "vision")}
    assert maes["text"] < min(maes["audio"], maes["vision"]), maes


def test_semi_synthetic_signal_and_text_dependence(mosi_label_csv):
    from mifusion.data.synthetic_text import transcript_factors

    def dataset(**kwargs):
        return generate(text_from=mosi_label_csv, params=SynthParams(max_lengths=SHORT, **kwargs))

    weak, strong = dataset(), dataset(real_audio_signal=1.0)
    assert _ridge_mae(strong, "audio") < _ridge_mae(weak, "audio") - 0.2
    cc = []
    for dependence in (0.0, 1.5):
        train = dataset(real_text_dependence=dependence)["train"]
        factors = transcript_factors(train.raw_text, 4)
        cc.append(_first_canonical_correlation(factors, _time_average(train, "vision")))
    assert cc[1] > cc[0] + 0.3, cc
