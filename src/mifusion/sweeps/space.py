"""Search spaces declared in a config's ``search_space`` mapping, validated strictly.

Example:
    >>> specs = parse_search_space({
    ...     "train.lr": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True},
    ...     "penalty.estimator": {"type": "categorical", "choices": ["dv", "js"]},
    ... })
    >>> [(s.name, s.kind) for s in specs]
    [('train.lr', 'float'), ('penalty.estimator', 'categorical')]
    >>> [s.name for s in free_parameters(specs, ["train.lr=0.001"])]
    ['penalty.estimator']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mifusion.config import ExperimentConfig, from_dict, merge, parse_override, to_dict
from mifusion.errors import ConfigError

KINDS: tuple[str, ...] = ("float", "int", "categorical")
_ALLOWED_KEYS: dict[str, set[str]] = {
    "float": {"type", "low", "high", "log", "step"},
    "int": {"type", "low", "high", "log", "step"},
    "categorical": {"type", "choices"},
}


DEFAULT_SEARCH_SPACE: dict[str, dict[str, Any]] = {
    "train.lr": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True},
    "model.dropout": {"type": "float", "low": 0.0, "high": 0.5},
}
"""Searched when a config declares no ``search_space`` (the penalty weight too when a penalty is set)."""
PENALTY_WEIGHT_SPACE: dict[str, Any] = {"type": "float", "low": 1e-3, "high": 1.0, "log": True}


@dataclass(frozen=True)
class ParamSpec:
    """One searched parameter: a dotted config path and its distribution."""

    name: str
    kind: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: tuple[Any, ...] = ()


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{where} must be a number, got {value!r}")
    return value


def _check_path(name: str, where: str) -> None:
    """The dotted path must name a field of ExperimentConfig (or a free-form ``options`` entry)."""
    node: Any = to_dict(ExperimentConfig())
    parts = name.split(".")
    for i, part in enumerate(parts):
        if isinstance(node, Mapping) and part in node:
            node = node[part]
            continue
        if i > 0 and parts[i - 1] == "options":
            return
        raise ConfigError(f"{where}: {name!r} is not a config field (use a dotted path such as train.lr)")
    if isinstance(node, Mapping):
        raise ConfigError(f"{where}: {name!r} is a section, not a field; search one of its fields")


def parse_param(name: str, raw: Any, where: str = "search_space") -> ParamSpec:
    """Validates one ``search_space`` entry; raises ConfigError naming the entry and the fix."""
    here = f"{where}.{name}"
    _check_path(name, where)
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{here} must be a mapping with a 'type' ({', '.join(KINDS)})")
    kind = raw.get("type")
    if kind not in KINDS:
        raise ConfigError(f"{here}.type must be one of {', '.join(KINDS)}, got {kind!r}")
    unknown = sorted(set(raw) - _ALLOWED_KEYS[kind])
    if unknown:
        allowed = ", ".join(sorted(_ALLOWED_KEYS[kind]))
        raise ConfigError(f"unknown key {here}.{unknown[0]} for a {kind} parameter; valid keys: {allowed}")
    if kind == "categorical":
        choices = raw.get("choices")
        if not isinstance(choices, Sequence) or isinstance(choices, str) or len(choices) < 1:
            raise ConfigError(f"{here}.choices must be a non-empty list")
        if not all(c is None or isinstance(c, bool | int | float | str) for c in choices):
            raise ConfigError(f"{here}.choices may hold only numbers, strings, booleans or null")
        return ParamSpec(name, kind, choices=tuple(choices))
    for key in ("low", "high"):
        if key not in raw:
            raise ConfigError(f"{here} needs '{key}' for a {kind} parameter")
    low, high = _number(raw["low"], f"{here}.low"), _number(raw["high"], f"{here}.high")
    if kind == "int" and not (isinstance(low, int) and isinstance(high, int)):
        raise ConfigError(f"{here}: low and high must be integers for an int parameter")
    if not low < high:
        raise ConfigError(f"{here}: low ({low}) must be below high ({high})")
    log = raw.get("log", False)
    if not isinstance(log, bool):
        raise ConfigError(f"{here}.log must be true or false, got {log!r}")
    if log and low <= 0:
        raise ConfigError(f"{here}: a log-scaled parameter needs low > 0, got {low}")
    step = raw.get("step")
    if step is not None:
        step = _number(step, f"{here}.step")
        if log or step <= 0:
            raise ConfigError(f"{here}.step must be positive and cannot be combined with log")
    return ParamSpec(name, kind, low=low, high=high, log=log, step=step)


def parse_search_space(space: Mapping[str, Any], where: str = "search_space") -> tuple[ParamSpec, ...]:
    """Validates a whole ``search_space`` mapping (dotted config path -> distribution)."""
    if not isinstance(space, Mapping):
        raise ConfigError(f"{where} must be a mapping of dotted config paths to distributions")
    return tuple(parse_param(str(name), raw, where) for name, raw in space.items())


def declared_space(cfg: ExperimentConfig) -> dict[str, Any]:
    """The config's ``search_space``, or the default space when it declares none."""
    if cfg.search_space:
        return dict(cfg.search_space)
    space = dict(DEFAULT_SEARCH_SPACE)
    if cfg.penalty.estimator:
        space["penalty.weight"] = PENALTY_WEIGHT_SPACE
    return space


def free_parameters(specs: Sequence[ParamSpec], overrides: Sequence[str]) -> tuple[ParamSpec, ...]:
    """Drops the parameters that a ``--set key=value`` override fixes."""
    fixed = {".".join(parse_override(text)[0]) for text in overrides}
    return tuple(spec for spec in specs if spec.name not in fixed)


def suggest(trial: Any, specs: Sequence[ParamSpec]) -> dict[str, Any]:
    """Samples every parameter from an Optuna trial; returns dotted path -> value."""
    params: dict[str, Any] = {}
    for spec in specs:
        if spec.kind == "categorical":
            params[spec.name] = trial.suggest_categorical(spec.name, list(spec.choices))
        elif spec.kind == "int":
            step = int(spec.step) if spec.step is not None else 1
            params[spec.name] = trial.suggest_int(
                spec.name, int(spec.low or 0), int(spec.high or 0), step=step, log=spec.log
            )
        else:
            params[spec.name] = trial.suggest_float(
                spec.name, float(spec.low or 0.0), float(spec.high or 0.0), step=spec.step, log=spec.log
            )
    return params


def apply_params(cfg: ExperimentConfig, params: Mapping[str, Any]) -> ExperimentConfig:
    """Returns ``cfg`` with dotted-path parameters set and re-validated; ``search_space`` cleared.

    The result is a plain, trainable config (ready for ``mifusion train --config``).
    """
    data = to_dict(cfg)
    for name, value in params.items():
        nested: dict[str, Any] = {name.split(".")[-1]: value}
        for part in reversed(name.split(".")[:-1]):
            nested = {part: nested}
        data = merge(data, nested)
    data["search_space"] = {}
    return from_dict(ExperimentConfig, data)
