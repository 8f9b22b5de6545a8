"""estimate_mi and `mifusion estimators estimate` on the user's own arrays."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from mifusion.cli import main
from mifusion.errors import ConfigError
from mifusion.estimators.estimate import MIEstimate, check_arrays, diagnose, estimate_mi, load_array

RHO = 0.9  # I = -1/2 log(1 - rho^2) = 0.830 nats


def _pair(n: int = 2000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 1))
    return x, RHO * x + math.sqrt(1 - RHO**2) * rng.normal(size=(n, 1))


def test_trained_estimate_has_an_interval_a_bound_and_a_unit() -> None:
    x, y = _pair(1024)
    result = estimate_mi(x, y, estimator="nwj", steps=120, batch_size=64, lr=3e-3)
    assert result.bound == "lower" and result.unit == "nats" and result.heldout_rows == 512
    assert result.low <= result.estimate <= result.high
    assert abs(result.estimate - 0.830) < 0.15
    assert "lower bound" in result.summary()


def test_infonce_at_log_b_warns() -> None:
    curve = [(i, 2.7) for i in range(1, 10)]
    assert any("ceiling log B" in w for w in diagnose("infonce", 2.70, (2.65, 2.75), 16, curve, 100))
    assert not diagnose("infonce", 1.0, (0.9, 1.1), 16, curve, 100)
    assert not diagnose("nwj", 2.70, (2.65, 2.75), 16, curve, 100)  # only InfoNCE has the ceiling
    assert any("diverged" in w for w in diagnose("dv", math.nan, (math.nan, math.nan), 16, [], 3))
    far_below = estimate_mi(*_pair(1200, 3), estimator="infonce", steps=20, batch_size=128)
    assert not any("ceiling" in w for w in far_below.warnings)


def test_a_critic_stopped_early_warns_that_it_has_not_converged() -> None:
    x, y = _pair(4000, 4)
    early = estimate_mi(x, y, estimator="dv", steps=30, batch_size=64, lr=1e-3)
    assert any("still rising" in w for w in early.warnings)


@pytest.mark.parametrize("name", ["ksg", "cca"])
def test_classical_estimates(name: str) -> None:
    result = estimate_mi(*_pair(3000, 5), estimator=name)
    assert abs(result.estimate - 0.830) < 0.08 and result.bound == "neither"


def test_bad_arrays_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="same number of rows"):
        check_arrays(np.zeros((300, 1)), np.zeros((301, 1)))
    with pytest.raises(ConfigError, match="NaN or inf"):
        check_arrays(np.full((300, 1), np.inf), np.zeros((300, 1)))
    with pytest.raises(ConfigError, match="numeric"):
        check_arrays(np.array(["a"] * 300), np.zeros((300, 1)))
    with pytest.raises(ConfigError, match="at least 256 rows"):
        check_arrays(np.zeros((100, 1)), np.zeros((100, 1)))
    with pytest.raises(ConfigError, match="not mutual information"):
        estimate_mi(*_pair(), estimator="wasserstein_gp")


def test_load_array_reads_npy_npz_and_csv(tmp_path: Path) -> None:
    a = np.arange(12.0).reshape(6, 2)
    np.save(tmp_path / "a.npy", a)
    np.savez(tmp_path / "one.npz", a=a)
    np.savez(tmp_path / "two.npz", a=a, b=2 * a)
    np.savetxt(tmp_path / "h.csv", a, delimiter=",", header="p,q", comments="")
    assert np.array_equal(load_array(tmp_path / "a.npy"), a)
    assert np.array_equal(load_array(tmp_path / "one.npz"), a)
    assert np.array_equal(load_array(f"{tmp_path / 'two.npz'}:b"), 2 * a)
    assert np.array_equal(load_array(tmp_path / "h.csv"), a)
    with pytest.raises(ConfigError, match="holds 2 arrays"):
        load_array(tmp_path / "two.npz")
    with pytest.raises(ConfigError, match="no such file"):
        load_array(tmp_path / "missing.npy")


def test_cli_prints_estimate_interval_bound_and_unit(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    x, y = _pair(1200, 6)
    np.save(tmp_path / "x.npy", x)
    np.savetxt(tmp_path / "y.csv", y, delimiter=",")
    out = tmp_path / "mi.json"
    argv = ["estimators", "estimate", str(tmp_path / "x.npy"), str(tmp_path / "y.csv"), "--estimator", "cca"]
    assert main([*argv, "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "I(X; Y) = 0.8" in text and "nats" in text and "95% interval" in text and "neither" in text
    data = json.loads(out.read_text())
    assert MIEstimate(**data).estimator == "cca"


@pytest.mark.parametrize(
    ("files", "extra", "message"),
    [
        (("x.npy", "missing.npy"), [], "no such file"),
        (("x.npy", "short.npy"), [], "same number of rows"),
        (("x.npy", "y.npy"), ["--estimator", "nope"], "unknown estimator"),
        (("x.npy", "y.npy"), ["--heldout-fraction", "1.5"], "--heldout-fraction"),
        (("x.npy", "y.npy"), ["--steps", "0"], "--steps"),
        (("x.npy", "y.npy"), ["--batch-size", "400"], "at least 1600 rows"),
        (("x.npy", "y.npy"), ["--json", "no/such/dir/out.json"], "no such directory"),
    ],
)
def test_cli_mistakes_are_one_line_exit_2_and_write_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture, files: tuple[str, str], extra: list[str], message: str
) -> None:
    x, y = _pair(1000, 7)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    np.save(tmp_path / "short.npy", y[:500])
    before = sorted(p.name for p in tmp_path.iterdir())
    argv = ["estimators", "estimate", *(str(tmp_path / f) for f in files), "--json", str(tmp_path / "o.json")]
    assert main([*argv, *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and err.strip().count("\n") == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == before
