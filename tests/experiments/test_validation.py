"""The whole config is checked before work: names, ranges, select_metric, device, a trial build."""

from __future__ import annotations

import pytest

from mifusion.config import load
from mifusion.errors import ConfigError
from mifusion.experiments.validation import check_build, check_config, check_device, config_problems

BAD = {
    "train.batch_size=-4": "train.batch_size",
    "train.batch_size=0": "train.batch_size",
    "train.epochs=0": "train.epochs",
    "train.lr=-1": "train.lr",
    "train.lr=.nan": "train.lr",
    "train.clip_norm=-1": "train.clip_norm",
    "penalty.weight=1e999": "penalty.weight",
    "train.seeds=[]": "train.seeds",
    "train.seeds=[1,1]": "train.seeds",
    "train.modality_dropout=1.5": "train.modality_dropout",
    "train.modality_dropout=1": "train.modality_dropout",
    "model.dropout=2": "model.dropout",
    "model.hidden_dim=0": "model.hidden_dim",
    "model.sequence.dropout=-0.1": "model.sequence.dropout",
    "penalty.critic_steps=0": "penalty.critic_steps",
    "train.select_metric=acc": "train.select_metric",
    "model.name=nope": "model.name",
    "penalty.estimator=nope": "penalty.estimator",
    "model.options.nope=1": "model.options.nope",
    "data.modalities=[text,audoi]": "audoi",
    "data.modalities=[]": "data.modalities",
}


@pytest.mark.parametrize("override", sorted(BAD))
def test_each_bad_setting_is_named_in_one_line(override: str) -> None:
    problems = config_problems(load(None, [override]))
    assert problems, override
    assert BAD[override] in problems[0] and "\n" not in problems[0]
    with pytest.raises(ConfigError, match=BAD[override].replace(".", r"\.")):
        check_config(load(None, [override]))


@pytest.mark.parametrize(
    "preset",
    ["default", "synth_tfn", "mosi_mmim", "synth_lf_dnn", "synth_mmim", "synth_mult", "mosi_text_tuned"],
)
def test_shipped_presets_pass(preset: str) -> None:
    from mifusion.presets import resolve

    assert config_problems(resolve(preset, None, [])) == []


def test_clip_norm_none_and_zero_text_lr_are_allowed() -> None:
    assert config_problems(load(None, ["train.clip_norm=null", "train.text_lr=0"])) == []


def test_a_device_the_machine_lacks_is_refused() -> None:
    check_device("cpu")
    with pytest.raises(ConfigError, match="not a device"):
        check_device("toaster")
    import torch

    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="no CUDA GPU"):
            check_device("cuda")
    else:
        with pytest.raises(ConfigError, match="GPU"):
            check_device(f"cuda:{torch.cuda.device_count()}")


def test_trial_build_refuses_heads_that_do_not_divide_the_width(tiny_dataset: object) -> None:
    from mifusion.experiments.pipeline import prepare

    cfg = load(None, ["model.name=mult", "model.options.num_heads=3", "model.hidden_dim=16"])
    data = prepare(tiny_dataset, cfg)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="mult cannot be built"):
        check_build(cfg, data)
    check_build(load(None, ["model.name=mult", "model.hidden_dim=16"]), data)


def test_token_ids_outside_the_encoder_vocabulary_are_refused(tiny_dataset: object) -> None:
    import dataclasses

    from mifusion.experiments.pipeline import prepare

    cfg = load(None, ["model.hidden_dim=16"])
    data = prepare(tiny_dataset, cfg)  # type: ignore[arg-type]
    check_build(cfg, data)
    small = dataclasses.replace(data, spec=dataclasses.replace(data.spec, vocab_size=3))
    with pytest.raises(ConfigError, match="vocabulary of 3"):
        check_build(cfg, small)
