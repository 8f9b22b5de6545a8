"""Token ids always match the encoder's vocabulary: keep, re-tokenise, or refuse."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from mifusion.data.dataset import MultimodalDataset, SplitData
from mifusion.data.text_inputs import prepare_text
from mifusion.errors import DataError

transformers = pytest.importorskip("transformers")


@pytest.fixture(scope="module")
def tokenizer() -> object:
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "good", "bad", "movie", "very"]
    return transformers.BertTokenizer(vocab={w: i for i, w in enumerate(words)}, do_lower_case=True)


def dataset(raw: bool = True) -> MultimodalDataset:
    texts = ["VERY GOOD MOVIE", "BAD", "GOOD GOOD GOOD GOOD GOOD GOOD"]
    split = SplitData(
        "train",
        np.asarray(["a", "b", "c"]),
        np.zeros(3, np.float32),
        token_ids=np.array([[101, 7, 0], [101, 0, 0], [101, 5, 5]]),
        token_lengths=np.array([2, 1, 3]),
        raw_text=texts if raw else None,
    )
    return MultimodalDataset({"train": split}, meta={"tokenizer": "bert-base-uncased", "source": "x.pkl"})


def test_same_vocabulary_keeps_ids(tokenizer: object) -> None:
    ds = dataset()
    assert prepare_text(ds, tokenizer, "bert-base-uncased") is ds


def test_other_vocabulary_retokenises_with_one_notice(
    tokenizer: object, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        out = prepare_text(dataset(), tokenizer, "tiny-bert", max_tokens=5)
    assert len([r for r in caplog.records if "re-tokenising" in r.getMessage()]) == 1
    split = out["train"]
    assert out.meta["tokenizer"] == "tiny-bert" and split.token_ids.dtype == np.int64
    assert split.token_ids.tolist()[0] == [2, 8, 5, 7, 3]  # [CLS] very good movie [SEP]
    assert split.token_ids.tolist()[1] == [2, 6, 3, 0, 0]  # right-padded with [PAD] = 0
    assert split.token_lengths.tolist() == [5, 3, 5]  # the third is truncated to max_tokens


def test_no_raw_text_refuses(tokenizer: object) -> None:
    with pytest.raises(
        DataError, match=r"x\.pkl: token ids are from 'bert-base-uncased'.*'tiny-bert'.*no raw_text"
    ):
        prepare_text(dataset(raw=False), tokenizer, "tiny-bert")
