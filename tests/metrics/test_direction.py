"""Each metric declares its direction once; selection and sweeps read it from there."""

from __future__ import annotations

import pytest

from mifusion.errors import ConfigError
from mifusion.metrics import METRICS, higher_is_better, is_better
from mifusion.sweeps.objective import metric_direction


@pytest.mark.parametrize("kind", sorted(METRICS))
def test_every_metric_of_the_table_declares_a_direction(kind: str) -> None:
    for name, metric in METRICS[kind].items():
        assert higher_is_better(name) is metric.higher_is_better
        # errors go down, agreement (corr, accuracies, F1) goes up
        assert metric.higher_is_better is (name != "mae")


def test_loss_is_lower_is_better_and_unknown_names_are_refused() -> None:
    assert higher_is_better("loss") is False
    with pytest.raises(ConfigError, match=r"unknown metric 'mae_error'.*acc7"):
        higher_is_better("mae_error")


@pytest.mark.parametrize("name", ["mae", "loss", "corr", "acc7", "sims_f1"])
def test_selection_and_sweeps_read_the_declared_direction(name: str) -> None:
    up = higher_is_better(name)
    assert is_better(name, 2.0, 1.0) is up and is_better(name, 1.0, 2.0) is (not up)
    assert metric_direction(name) == ("maximize" if up else "minimize")
