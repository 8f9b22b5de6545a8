"""`featurize_text` / `mifusion data featurize`: frozen token states become precomputed text features."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mifusion.cli import main
from mifusion.data.dataset import MultimodalDataset, SplitData
from mifusion.data.io import load_dataset, save_safe
from mifusion.data.spec import data_spec
from mifusion.encoders.featurize import featurize_text, pool_states
from mifusion.errors import ConfigError, DataError

transformers = pytest.importorskip("transformers")
TEXTS = ["very good movie", "bad", "not a good movie , very bad", "good good good good good good good"]


def dataset(raw: bool = True) -> MultimodalDataset:
    splits = {
        name: SplitData(
            name,
            np.asarray([f"{name}{i}" for i in range(len(TEXTS))]),
            np.linspace(-3, 3, len(TEXTS)).astype(np.float32),
            sequences={"audio": np.ones((len(TEXTS), 4, 2), np.float32)},
            lengths={"audio": np.full(len(TEXTS), 4)},
            raw_text=list(TEXTS) if raw else None,
        )
        for name in ("train", "valid", "test")
    }
    return MultimodalDataset(splits, meta={"source": "x.csv"})


def test_token_states_match_the_encoder_run_alone(tiny_encoder_dir: str) -> None:
    import torch

    out = featurize_text(dataset(), tiny_encoder_dir, max_tokens=6, batch_size=3)
    split = out["train"]
    assert split.token_ids is None and split.raw_text == TEXTS
    assert split.lengths["text"].tolist() == [5, 3, 6, 6]  # [CLS] ... [SEP], truncated at 6
    tokenizer = transformers.BertTokenizer.from_pretrained(tiny_encoder_dir)
    model = transformers.BertModel.from_pretrained(tiny_encoder_dir).eval()
    for i, text in enumerate(TEXTS):
        ids = tokenizer(text, truncation=True, max_length=6, return_tensors="pt")["input_ids"]
        with torch.no_grad():
            alone = model(input_ids=ids).last_hidden_state[0].numpy()
        n = ids.shape[1]
        np.testing.assert_allclose(split.sequences["text"][i, :n], alone, atol=1e-5)
        assert not split.sequences["text"][i, n:].any()  # padding stays zero
    spec = data_spec(out, ("text", "audio"))
    assert spec.text_kind == "features" and spec.feature_dims["text"] == 8
    assert out.meta["text_features"] == {"encoder": tiny_encoder_dir, "pooling": "tokens", "max_tokens": 6}
    assert out.meta["aligned"] is False


def test_pooling_uses_valid_states_only() -> None:
    states = np.arange(2 * 3 * 2, dtype=np.float32).reshape(2, 3, 2) + 1.0  # padding rows are non-zero
    lengths = np.array([3, 1])
    cls, n = pool_states(states, lengths, "cls")
    assert cls.shape == (2, 1, 2) and n.tolist() == [1, 1] and cls[1, 0].tolist() == [7, 8]
    mean, _ = pool_states(states, lengths, "mean")
    np.testing.assert_allclose(mean[0, 0], states[0].mean(axis=0))
    np.testing.assert_allclose(mean[1, 0], states[1, 0])  # length 1: its one valid state


def test_bad_settings_refuse_before_encoding(tiny_encoder_dir: str) -> None:
    for kwargs, flag in (({"max_tokens": 1}, "--max-tokens"), ({"max_tokens": 10_000}, "--max-tokens"),
                         ({"batch_size": 0}, "--batch-size")):  # fmt: skip
        with pytest.raises(ConfigError, match=flag):
            featurize_text(dataset(), tiny_encoder_dir, **kwargs)


def test_no_raw_text_or_bad_encoder_refuses(tiny_encoder_dir: str, tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"x\.csv: split 'train' has no raw_text"):
        featurize_text(dataset(raw=False), tiny_encoder_dir)
    with pytest.raises(ConfigError, match=r"--encoder='.*missing'.*local"):
        featurize_text(dataset(), str(tmp_path / "missing"))


def test_cli_featurize_then_train_reads_text_features(
    tiny_encoder_dir: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src, dst = tmp_path / "src", tmp_path / "feats"
    save_safe(dataset(), src)
    args = ["data", "featurize", str(src), str(dst), "--encoder", tiny_encoder_dir, "--pooling", "cls"]
    assert main(args) == 0
    assert "text features cls, 8-d" in capsys.readouterr().out
    back = load_dataset(dst)
    assert back["test"].sequences["text"].shape == (len(TEXTS), 1, 8)
    assert main(["data", "featurize", str(src), str(tmp_path / "x"), "--encoder", str(tmp_path / "no")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mifusion: error: ") and err.count("\n") == 1
    assert not (tmp_path / "x").exists()
    (tmp_path / "taken").mkdir()
    assert main(["data", "featurize", str(src), str(tmp_path / "taken"), "--encoder", tiny_encoder_dir]) == 2
    assert "not a mifusion safe-format directory" in capsys.readouterr().err
    run = ["train", "--preset", "synth_tfn", "--data", str(dst), "--out", str(tmp_path / "run"), "--quiet",
           "--modalities", "text,audio"]  # fmt: skip
    assert main([*run, "--set", "train.epochs=1", "train.num_threads=1", "model.hidden_dim=8"]) == 0
    assert (tmp_path / "run" / "results.json").exists()


@pytest.mark.parametrize("fast", [True, False], ids=["fast tokenizer", "slow tokenizer"])
def test_word_features_average_each_words_pieces(tmp_path: Path, fast: bool) -> None:
    """``encode_words`` (data extract --align words): one state per word, the mean of its word pieces."""
    import torch

    from mifusion.encoders.featurize import encode_words

    vocab = tmp_path / "vocab.txt"
    vocab.write_text(
        "\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "very", "good", "mov", "##ie"]) + "\n"
    )
    tokenizer = (transformers.BertTokenizerFast if fast else transformers.BertTokenizer)(str(vocab))

    class Ids(torch.nn.Module):  # the "encoder" returns each token's id as its state
        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> object:
            return type("Out", (), {"last_hidden_state": input_ids[..., None].float()})()

    words = [["very", "good", "movie"], ["movie"]]  # ids: very 5, good 6, movie = mov 7 + ##ie 8
    feats, truncated = encode_words(words, tokenizer, Ids(), max_tokens=50, width=4)
    assert feats.states[:, :, 0].tolist() == [[5.0, 6.0, 7.5, 0.0], [7.5, 0.0, 0.0, 0.0]]
    assert feats.lengths.tolist() == [3, 1] and truncated == 0
    feats, truncated = encode_words(words, tokenizer, Ids(), max_tokens=4, width=3)  # [CLS] very good [SEP]
    assert feats.states[0, :, 0].tolist() == [5.0, 6.0, 0.0] and truncated == 1
