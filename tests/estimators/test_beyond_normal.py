"""The native 'Beyond Normal' tasks against the benchmark-mi package (Czyz et al., NeurIPS 2023).

``PACKAGE_TRUTHS`` was recorded from benchmark-mi 0.1.3 (jax 0.4.25), ``task.mutual_information`` and
``task.dim_x / dim_y`` of every task in ``bmi.benchmark.task_list.BENCHMARK_TASKS_LIST``, on 2026-12-04.
The sample test compares the samples with the package's own when the package is importable here, or
when ``MIFUSION_BMI_PYTHON`` names an interpreter that has it (it installs in a separate environment).
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from mifusion.errors import ConfigError
from mifusion.estimators.beyond_normal import (
    BEYOND_NORMAL,
    bimodal_x,
    bimodal_y,
    find_task,
    spiral,
    swiss_roll,
)

PACKAGE_TRUTHS = {
    "1v1-normal-0.75": (1, 1, 0.41333928659223396),
    "normal_cdf-1v1-normal-0.75": (1, 1, 0.41333928659223396),
    "1v1-additive-0.1": (1, 1, 1.7094379663467407),
    "1v1-additive-0.75": (1, 1, 0.3333333333333333),
    "1v1-bimodal-0.75": (1, 1, 0.41333928659223396),
    "wiggly-1v1-normal-0.75": (1, 1, 0.41333928659223396),
    "half_cube-1v1-normal-0.75": (1, 1, 0.41333928659223396),
    "student-identity-1-1-1": (1, 1, 0.22417142752923613),
    "asinh-student-identity-1-1-1": (1, 1, 0.22417142752923613),
    "swissroll_x-normal_cdf-1v1-normal-0.75": (2, 1, 0.41333928659223396),
    "multinormal-dense-2-2-0.5": (2, 2, 0.2938933324510593),
    "multinormal-dense-3-3-0.5": (3, 3, 0.41333928659223407),
    "multinormal-dense-5-5-0.5": (5, 5, 0.5928118328288701),
    "multinormal-dense-25-25-0.5": (25, 25, 1.2921837216593204),
    "multinormal-dense-50-50-0.5": (50, 50, 1.6242653743037039),
    "multinormal-sparse-2-2-2-2.0": (2, 2, 1.0216512475319819),
    "multinormal-sparse-3-3-2-2.0": (3, 3, 1.0216512475319819),
    "multinormal-sparse-5-5-2-2.0": (5, 5, 1.021651247531981),
    "multinormal-sparse-25-25-2-2.0": (25, 25, 1.0216512475319774),
    "student-identity-2-2-1": (2, 2, 0.43194562200144127),
    "student-identity-2-2-2": (2, 2, 0.1931471805599454),
    "student-identity-3-3-2": (3, 3, 0.29092192268276484),
    "student-identity-3-3-3": (3, 3, 0.17871185309236282),
    "student-identity-5-5-2": (5, 5, 0.44815067691532917),
    "student-identity-5-5-3": (5, 5, 0.29854362265275824),
    "normal_cdf-multinormal-sparse-3-3-2-2.0": (3, 3, 1.0216512475319819),
    "normal_cdf-multinormal-sparse-5-5-2-2.0": (5, 5, 1.021651247531981),
    "normal_cdf-multinormal-sparse-25-25-2-2.0": (25, 25, 1.0216512475319774),
    "half_cube-multinormal-sparse-3-3-2-2.0": (3, 3, 1.0216512475319819),
    "half_cube-multinormal-sparse-5-5-2-2.0": (5, 5, 1.021651247531981),
    "half_cube-multinormal-sparse-25-25-2-2.0": (25, 25, 1.0216512475319774),
    "spiral-multinormal-sparse-3-3-2-2.0": (3, 3, 1.0216512475319819),
    "spiral-multinormal-sparse-5-5-2-2.0": (5, 5, 1.021651247531981),
    "spiral-multinormal-sparse-25-25-2-2.0": (25, 25, 1.0216512475319774),
    "spiral-normal_cdf-multinormal-sparse-3-3-2-2.0": (3, 3, 1.0216512475319819),
    "spiral-normal_cdf-multinormal-sparse-5-5-2-2.0": (5, 5, 1.021651247531981),
    "spiral-normal_cdf-multinormal-sparse-25-25-2-2.0": (25, 25, 1.0216512475319774),
    "asinh-student-identity-2-2-1": (2, 2, 0.43194562200144127),
    "asinh-student-identity-3-3-2": (3, 3, 0.29092192268276484),
    "asinh-student-identity-5-5-2": (5, 5, 0.44815067691532917),
}


def test_the_registry_is_the_package_task_list_in_its_order() -> None:
    assert list(BEYOND_NORMAL) == list(PACKAGE_TRUTHS)


@pytest.mark.parametrize("name", list(PACKAGE_TRUTHS))
def test_truth_and_dims_match_the_package(name: str) -> None:
    task = BEYOND_NORMAL[name]
    dim_x, dim_y, truth = PACKAGE_TRUTHS[name]
    assert task.dims == (dim_x, dim_y)
    assert task.truth == pytest.approx(truth, abs=1e-6)  # the package computes 1v1-additive in float32
    x, y = task.sample_arrays(64, np.random.default_rng(1))
    assert x.shape == (64, dim_x) and y.shape == (64, dim_y)
    assert np.isfinite(x).all() and np.isfinite(y).all()


@pytest.mark.parametrize("name", list(PACKAGE_TRUTHS))
def test_truth_is_the_mean_log_density_ratio(name: str) -> None:
    """An independent check of each closed form: the Monte Carlo mean of log p(x,y)/p(x)p(y) on latents."""
    task = BEYOND_NORMAL[name]
    ratio = task.log_ratio(task.sample_latent(40_000, np.random.default_rng(2)))
    assert np.isfinite(ratio).all()
    tolerance = 5 * ratio.std() / math.sqrt(len(ratio)) + 1e-3
    assert abs(ratio.mean() - task.truth) < tolerance


def test_maps_are_the_documented_ones() -> None:
    # the spiral rotates the first plane of x by speed * |x|^2: a quarter turn at |x|^2 = pi/2, speed 1
    v = np.array([[math.sqrt(math.pi / 2), 0.0, 0.0]])
    assert np.allclose(spiral(v, (0, 1), 1.0), [[0.0, math.sqrt(math.pi / 2), 0.0]], atol=1e-12)
    # the spiral keeps the norm, and the swiss roll starts at t = 1.5 pi: (t cos t, t sin t) / 21
    w = np.random.default_rng(0).normal(size=(100, 5))
    assert np.allclose(np.linalg.norm(spiral(w, (1, 2), 0.2), axis=1), np.linalg.norm(w, axis=1))
    assert np.allclose(swiss_roll(np.array([[0.0]])), [[0.0, -1.5 * math.pi / 21]], atol=1e-12)
    # the bimodal maps push N(0, 1) onto their mixtures: the mixture CDF of the output is uniform
    z = np.random.default_rng(3).normal(size=20_000)
    u = 0.3 * stats.norm.cdf(bimodal_x(z)) + 0.7 * stats.norm.cdf(bimodal_x(z) - 5)
    assert stats.kstest(u, "uniform").pvalue > 1e-3
    u = 0.5 * stats.norm.cdf(bimodal_y(z) + 1) + 0.5 * stats.norm.cdf(bimodal_y(z) - 3)
    assert stats.kstest(u, "uniform").pvalue > 1e-3


def test_find_task_knows_both_registries() -> None:
    assert find_task("1v1-additive-0.75").truth == pytest.approx(1 / 3)
    assert find_task("gauss-1d-rho0.5").dims == (1, 1)
    with pytest.raises(ConfigError, match="unknown task"):
        find_task("no-such-task")


_PACKAGE_SAMPLER = textwrap.dedent(
    """
    import sys
    import numpy as np
    from bmi.benchmark.task_list import BENCHMARK_TASKS_LIST
    arrays = {}
    for task in BENCHMARK_TASKS_LIST:
        x, y = task.sample(int(sys.argv[2]), seed=5)
        arrays[task.id + "/x"], arrays[task.id + "/y"] = np.asarray(x), np.asarray(y)
    np.savez(sys.argv[1], **arrays)
    """
)


def _package_samples(path: Path, n: int) -> dict[str, np.ndarray]:
    interpreter = os.environ.get("MIFUSION_BMI_PYTHON")
    try:
        import bmi  # noqa: F401

        interpreter = sys.executable
    except ImportError:
        if not interpreter:
            pytest.skip("benchmark-mi is not importable (set MIFUSION_BMI_PYTHON to a Python that has it)")
    env = {**os.environ, "JAX_PLATFORMS": "cpu", "OMP_NUM_THREADS": "1"}
    subprocess.run([interpreter, "-c", _PACKAGE_SAMPLER, str(path), str(n)], check=True, env=env)
    with np.load(path) as data:
        return dict(data)


@pytest.mark.slow
def test_samples_agree_with_the_package(tmp_path: Path) -> None:
    """Per task: two-sample KS tests per coordinate and on 3 random joint projections, and every Spearman
    correlation (Fisher z) against the package's samples (this one sees a 2-pair correlation of 0.75
    instead of 0.8, which the KS tests miss)."""
    n = 10_000
    theirs = _package_samples(tmp_path / "bmi.npz", n)
    rng = np.random.default_rng(11)
    failures = []
    for name, task in BEYOND_NORMAL.items():
        ours = np.concatenate(task.sample_arrays(n, np.random.default_rng(12)), axis=1)
        other = np.concatenate([theirs[f"{name}/x"], theirs[f"{name}/y"]], axis=1)
        assert other.shape == ours.shape
        directions = rng.normal(size=(ours.shape[1], 3))
        columns = [*ours.T, *(ours @ directions).T]
        others = [*other.T, *(other @ directions).T]
        p_min = min(stats.ks_2samp(a, b).pvalue for a, b in zip(columns, others))
        if p_min < 1e-4 / len(columns):  # Bonferroni over the task's tests
            failures.append((name, "KS", p_min))
        if ours.shape[1] > 2:
            rho_ours, rho_other = stats.spearmanr(ours).statistic, stats.spearmanr(other).statistic
        else:
            rho_ours, rho_other = (np.array([[stats.spearmanr(*v.T).statistic]]) for v in (ours, other))
        dz = np.arctanh(np.clip(rho_ours, -0.999, 0.999)) - np.arctanh(np.clip(rho_other, -0.999, 0.999))
        worst = float(np.abs(dz).max() / math.sqrt(2 * 1.06 / (n - 3)))
        if worst > 5.5:
            failures.append((name, "Spearman z", worst))
    assert not failures, failures
