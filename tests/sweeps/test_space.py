"""Search-space parsing, --set fixing, sampling and applying parameters to a config."""

from __future__ import annotations

import optuna
import pytest

from mifusion.config import ExperimentConfig, PenaltyConfig
from mifusion.errors import ConfigError
from mifusion.sweeps.space import (
    DEFAULT_SEARCH_SPACE,
    apply_params,
    declared_space,
    free_parameters,
    parse_search_space,
    suggest,
)

SPACE = {
    "train.lr": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True},
    "model.hidden_dim": {"type": "int", "low": 16, "high": 64, "step": 16},
    "penalty.estimator": {"type": "categorical", "choices": ["dv", "js"]},
    "model.options.alpha": {"type": "float", "low": 0.0, "high": 1.0},
}


def test_parse_valid_space_keeps_every_distribution() -> None:
    specs = {s.name: s for s in parse_search_space(SPACE)}
    assert specs["train.lr"].log and specs["train.lr"].low == 1e-4
    assert specs["model.hidden_dim"].kind == "int" and specs["model.hidden_dim"].step == 16
    assert specs["penalty.estimator"].choices == ("dv", "js")
    assert "model.options.alpha" in specs


@pytest.mark.parametrize(
    ("space", "message"),
    [
        ({"train.lrr": {"type": "float", "low": 0.1, "high": 1.0}}, "not a config field"),
        ({"train": {"type": "float", "low": 0.1, "high": 1.0}}, "is a section"),
        ({"train.lr": {"type": "uniform", "low": 0.1, "high": 1.0}}, "type must be one of"),
        ({"train.lr": {"type": "float", "low": 1.0, "high": 0.1}}, "must be below high"),
        ({"train.lr": {"type": "float", "low": 0.0, "high": 0.1, "log": True}}, "needs low > 0"),
        ({"train.lr": {"type": "float", "low": 0.1}}, "needs 'high'"),
        ({"train.lr": {"type": "float", "low": 0.1, "high": 1.0, "lg": True}}, "unknown key"),
        ({"train.epochs": {"type": "int", "low": 1.5, "high": 4}}, "must be integers"),
        ({"penalty.estimator": {"type": "categorical", "choices": []}}, "non-empty list"),
        ({"train.lr": {"type": "float", "low": "a", "high": 1.0}}, "must be a number"),
        ({"train.lr": 0.1}, "must be a mapping"),
    ],
)
def test_invalid_spaces_raise_config_error_naming_the_entry(space: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        parse_search_space(space)
    assert "search_space" in str(info.value)


def test_set_override_fixes_a_parameter() -> None:
    specs = parse_search_space(SPACE)
    free = free_parameters(specs, ["train.lr=0.003", "model.dropout=0.2"])
    assert [s.name for s in free] == ["model.hidden_dim", "penalty.estimator", "model.options.alpha"]


def test_suggest_and_apply_give_a_trainable_config() -> None:
    specs = parse_search_space(SPACE)
    fixed = {"train.lr": 0.002, "model.hidden_dim": 48, "penalty.estimator": "js", "model.options.alpha": 0.5}
    params = suggest(optuna.trial.FixedTrial(fixed), specs)
    assert params == fixed
    cfg = apply_params(ExperimentConfig(search_space=SPACE), params)
    assert (cfg.train.lr, cfg.model.hidden_dim, cfg.penalty.estimator) == (0.002, 48, "js")
    assert cfg.model.options["alpha"] == 0.5
    assert cfg.search_space == {}


def test_apply_params_revalidates_types() -> None:
    with pytest.raises(ConfigError, match=r"train\.epochs"):
        apply_params(ExperimentConfig(), {"train.epochs": "many"})


def test_default_space_when_config_declares_none() -> None:
    assert declared_space(ExperimentConfig()) == DEFAULT_SEARCH_SPACE
    with_penalty = declared_space(ExperimentConfig(penalty=PenaltyConfig(estimator="js")))
    assert "penalty.weight" in with_penalty
    assert declared_space(ExperimentConfig(search_space=SPACE)) == SPACE
