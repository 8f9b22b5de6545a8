"""The synthetic generator: determinism, shapes, lengths, splits, metadata and errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mifusion.data.synthetic import SynthParams, generate
from mifusion.data.synthetic_layout import LIKES, split_sizes
from mifusion.data.synthetic_text import CLS_ID, PAD_ID, SEP_ID, pseudo_words
from mifusion.errors import ConfigError

SHORT = {"text": 10, "audio": 12, "vision": 14}


def _arrays(ds):
    for split in ds:
        yield split.labels
        yield split.token_ids
        yield from split.sequences.values()
        yield from split.lengths.values()


def test_same_seed_same_data_other_seed_differs():
    params = SynthParams(max_lengths=SHORT)
    a, b = generate(n=40, seed=7, params=params), generate(n=40, seed=7, params=params)
    c = generate(n=40, seed=8, params=params)
    assert all(np.array_equal(x, y) for x, y in zip(_arrays(a), _arrays(b)))
    assert a["train"].raw_text == b["train"].raw_text
    assert not np.array_equal(a["train"].sequences["audio"], c["train"].sequences["audio"])


def test_tiny_dataset_shapes_lengths_and_padding(tiny_dataset):
    tiny_dataset.validate()
    assert [len(s) for s in tiny_dataset] == [28, 5, 15]
    assert tiny_dataset.feature_dims() == {"audio": 5, "vision": 20}
    assert tiny_dataset.modalities == ("text", "audio", "vision")
    for split in tiny_dataset:
        assert split.sequences["audio"].shape[1:] == (20, 5)
        assert split.sequences["vision"].shape[1:] == (24, 20)
        assert split.sequences["audio"].dtype == np.float32
        for m, seq in split.sequences.items():
            valid = np.arange(seq.shape[1])[None, :] < split.lengths[m][:, None]
            assert not np.any(seq[~valid]), f"{m} has non-zero padding"
            assert np.all(np.abs(seq[valid]).sum(-1) > 0)
        ids, lengths = split.token_ids, split.token_lengths
        assert ids.shape[1] == 12 and ids.dtype == np.int64
        assert np.all(ids[:, 0] == CLS_ID)
        assert np.all(ids[np.arange(len(ids)), lengths - 1] == SEP_ID)
        assert np.all((ids >= PAD_ID) & (ids < 200))
        for row, length, text in zip(ids, lengths, split.raw_text):
            assert np.all(row[length:] == PAD_ID) and np.all(row[1 : length - 1] > SEP_ID)
            assert len(text.split()) == length - 2


def test_aligned_has_one_length_per_sample(tiny_aligned_dataset):
    tiny_aligned_dataset.validate()
    for split in tiny_aligned_dataset:
        assert np.array_equal(split.lengths["audio"], split.token_lengths)
        assert np.array_equal(split.lengths["vision"], split.token_lengths)
        assert split.sequences["audio"].shape[1] == split.sequences["vision"].shape[1] == 12
    assert tiny_aligned_dataset.meta["aligned"] is True


def test_zero_lengths_are_rare_but_present():
    ds = generate(n=3000, seed=0, params=SynthParams(max_lengths={"text": 4, "audio": 2, "vision": 2}))
    zeros = np.concatenate([s.lengths["audio"] == 0 for s in ds] + [s.lengths["vision"] == 0 for s in ds])
    assert 0.003 < zeros.mean() < 0.02
    assert min(int(s.token_lengths.min()) for s in ds) >= 3


@pytest.mark.parametrize(
    ("like", "n", "expected"),
    [
        ("mosi", 2199, [1284, 229, 686]),
        ("mosei", 22856, [16326, 1871, 4659]),
        ("sims", 2281, [1368, 456, 457]),
    ],
)
def test_split_sizes_follow_the_standard_folds(like, n, expected):
    assert split_sizes(n, LIKES[like].split_sizes) == expected
    assert split_sizes(600, LIKES["mosi"].split_sizes) == [350, 62, 188]


@pytest.mark.parametrize(
    ("like", "dims", "bound"),
    [("mosei", {"audio": 74, "vision": 35}, 3.0), ("sims", {"audio": 33, "vision": 16}, 1.0)],
)
def test_like_sets_dims_and_label_range(like, dims, bound):
    params = SynthParams(max_lengths=SHORT, vision_dim=16 if like == "sims" else None)
    ds = generate(like=like, n=200, seed=1, params=params)
    assert ds.feature_dims() == dims
    labels = np.concatenate([s.labels for s in ds])
    assert labels.min() >= -bound and labels.max() <= bound
    assert (labels > 0).any() and (labels < 0).any()
    assert ds.meta["label_range"] == [-bound, bound]


def test_mosi_labels_sit_on_a_grid_with_zeros_and_halves():
    labels = np.concatenate(
        [s.labels for s in generate(n=2000, seed=0, params=SynthParams(max_lengths=SHORT))]
    )
    assert np.allclose(labels * 6, np.round(labels * 6), atol=1e-4)
    assert (labels == 0).any() and (np.abs(labels) == 0.5).any()
    assert 0.3 < (labels > 0).mean() < 0.7


def test_meta_records_every_parameter_as_json():
    params = SynthParams(max_lengths=SHORT, audio_signal=0.7)
    meta = generate(n=20, seed=5, params=params).meta
    assert meta["format"] == "synthetic" and meta["tokenizer"] == "mifusion-synthetic"
    assert meta["vocab_size"] == 200 and meta["like"] == "mosi"
    gen = json.loads(json.dumps(meta["generator"]))
    assert gen["seed"] == 5 and gen["audio_signal"] == 0.7 and gen["signal"]["audio"] == 0.7
    assert gen["shared_strength"] == params.shared_strength
    assert gen["max_lengths"] == {"text": 10, "audio": 12, "vision": 14}


def test_vocabulary_words_are_unique():
    words = pseudo_words(5000)
    assert len(set(words)) == 5000 and words[:3] == ["[PAD]", "[CLS]", "[SEP]"]


def test_bad_arguments_raise_config_errors(mosi_label_csv):
    with pytest.raises(ConfigError, match="unknown synthetic layout"):
        generate(like="imdb")
    with pytest.raises(ConfigError, match="n >= 3"):
        generate(n=2)
    with pytest.raises(ConfigError, match="too short"):
        generate(n=10, params=SynthParams(max_lengths={"text": 2}))
    with pytest.raises(ConfigError, match="drop --n"):
        generate(n=10, text_from=mosi_label_csv)
