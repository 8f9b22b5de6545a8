"""The ground-truth check: train estimators on tasks with known MI under one fixed protocol.

Protocol (the same for every estimator): per task and seed, ``train_samples`` training samples and a
separate ``heldout_samples`` held-out set drawn from the task; Adam at ``lr`` on the estimator's own
``loss`` for ``steps`` steps of ``batch_size`` rows drawn with replacement from the training set; the
reported estimate is the mean of the estimator's ``estimate`` over consecutive held-out batches of
``batch_size`` rows. Barber-Agakov is built with the task's closed-form H(Y) (``entropy_y``), so it tests q(y|x) only.
Grading (see :func:`grade`): MI estimates within max(0.05 nats, 10 %) of the truth on tasks whose truth
is at most 2 nats (InfoNCE against min(truth, log B)); Jensen-Shannon within 10 % of its Monte Carlo
truth (in JSD nats); Wasserstein is checked separately (:mod:`mifusion.evaluation.estimator_check.report`).

Example:
    >>> cfg = CheckConfig(steps=2, train_samples=64, heldout_samples=32, batch_size=16, seeds=1)
    >>> cfg.batch_size
    16
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from mifusion.errors import MifusionError
from mifusion.estimators.base import Bound, EstimatorEntry, MIEstimator
from mifusion.estimators.ground_truth import Task, dim_to_jsd, monte_carlo_js
from mifusion.evaluation.estimator_check.records import CheckConfig, Row, RunResult

INFONCE_NAMES = frozenset({"infonce", "cpc"})
ABS_TOLERANCE = 0.05  # nats
REL_TOLERANCE = 0.10
GRADED_MAX_TRUTH = 2.0  # nats: lower bounds are graded only up to this truth
JS_ABS_TOLERANCE = 0.01  # JSD nats, for tasks whose JSD is ~0
JS_MONTE_CARLO_SAMPLES = 400_000
BA_DISTRIBUTIONS = {"student-t": "student_t", "uniform": "mixture"}
"""Barber-Agakov's q family per task family (Gaussian elsewhere): no single family passes every task."""
JS_TRAINED_NAMES = frozenset({"dv", "mine", "nwj"})
"""Families whose critic the check trains with the JS objective (``train_objective="js"``)."""


def task_options(name: str, task: Task) -> dict[str, Any]:
    """Family options the protocol passes for ``task``.

    Barber-Agakov gets the closed-form H(Y), a full-covariance q (``covariance="full"``) and, on tasks
    whose y is heavy-tailed (the Student-t family), a Student-t q (``distribution="student_t"``), on the
    uniform task (a boxcar conditional) a Gaussian-mixture q (``distribution="mixture"``).
    DV, MINE and NWJ train their critic on the Jensen-Shannon objective (``train_objective="js"``); their
    estimate is still their own bound. InfoNCE gets the joint critic that every other critic family uses (its registry default is the
    cheaper separable critic).
    """
    if name == "ba":
        distribution = BA_DISTRIBUTIONS.get(task.family, "gaussian")
        return {"entropy_y": task.entropy_y, "covariance": "full", "distribution": distribution}
    if name in JS_TRAINED_NAMES:
        return {"train_objective": "js"}
    if name in INFONCE_NAMES:
        return {"critic": "joint"}
    return {}


class UnsupportedTask(Exception):
    """The estimator cannot be built for the task (e.g. a two-variable estimator on a 3-variable task)."""


def build_estimator(name: str, entry: EstimatorEntry, task: Task, config: CheckConfig) -> MIEstimator:
    """Builds the estimator for ``task`` (``builder(*dims)``) with the protocol's critic size."""
    options = task_options(name, task)
    try:
        return entry.builder(
            *task.dims, hidden_dim=config.hidden_dim, num_layers=config.num_layers, **options
        )
    except (TypeError, MifusionError) as err:
        if len(task.dims) == 2:
            raise
        raise UnsupportedTask(f"cannot build for {len(task.dims)} variables: {err}") from err


def gradient_norms(estimator: MIEstimator, views: Sequence[Tensor]) -> dict[str, float]:
    """Critic gradient norms on joint, marginal and interpolated rows, for Wasserstein critics (else {})."""
    try:
        from mifusion.estimators import wasserstein
    except ImportError:  # pragma: no cover - the family is part of the package
        return {}
    if not isinstance(estimator, wasserstein.Wasserstein):
        return {}
    norms = wasserstein.critic_gradient_norms(estimator, *views)
    return {f"gradient_norm_{k}": float(v) for k, v in norms.items()}


def _mean_estimate(
    estimator: MIEstimator,
    data: list[Tensor],
    batch_size: int,
    max_batches: int | None,
) -> float:
    """Mean estimate over consecutive held-out batches (eval mode, no gradients)."""
    n = data[0].shape[0]
    values = []
    estimator.eval()
    with torch.no_grad():
        for i, start in enumerate(range(0, n - batch_size + 1, batch_size)):
            if max_batches is not None and i >= max_batches:
                break
            out = estimator(*(d[start : start + batch_size] for d in data))
            values.append(float(out.estimate))
    estimator.train()
    return float(np.mean(values))


def run_one(name: str, entry: EstimatorEntry, task: Task, seed: int, config: CheckConfig) -> RunResult:
    """Trains ``entry`` on ``task`` with ``seed`` and evaluates it on the held-out set."""
    rng = np.random.default_rng([seed, 0])
    train = task.sample(config.train_samples, rng)
    heldout = task.sample(config.heldout_samples, np.random.default_rng([seed, 1]))
    torch.manual_seed(seed)
    try:
        estimator = build_estimator(name, entry, task, config)
    except UnsupportedTask as err:
        return RunResult(name, task.name, seed, float("nan"), 0.0, False, skipped=str(err))
    optimiser = torch.optim.Adam(estimator.parameters(), lr=config.lr)
    every = max(1, config.steps // config.curve_points)
    generator = torch.Generator().manual_seed(seed)
    curve: list[tuple[int, float]] = []
    diverged, train_time = False, 0.0
    for step in range(1, config.steps + 1):
        start = time.perf_counter()
        index = torch.randint(0, config.train_samples, (config.batch_size,), generator=generator)
        out = estimator(*(d[index] for d in train))
        if not (torch.isfinite(out.loss) and torch.isfinite(out.estimate)):
            diverged = True
            break
        optimiser.zero_grad(set_to_none=True)
        out.loss.backward()
        optimiser.step()
        train_time += time.perf_counter() - start
        if step % every == 0 or step == config.steps:
            curve.append((step, _mean_estimate(estimator, heldout, config.batch_size, config.curve_batches)))
    estimate = float("nan") if diverged else _mean_estimate(estimator, heldout, config.batch_size, None)
    diverged = diverged or not math.isfinite(estimate)
    diagnostics = {k: float(v.detach().float().mean()) for k, v in out.diagnostics.items() if v.numel() > 0}
    if not diverged:
        diagnostics.update(gradient_norms(estimator, [d[: config.batch_size] for d in heldout]))
    return RunResult(
        name, task.name, seed, estimate, 1000.0 * train_time / max(step, 1), diverged, curve, diagnostics
    )


def grade(
    name: str,
    entry: EstimatorEntry,
    task: Task,
    runs: Sequence[RunResult],
    config: CheckConfig,
    js_truth: float | None,
) -> Row:
    """Aggregates one estimator's seeds on one task into a graded :class:`Row`."""
    if all(r.skipped for r in runs):
        return Row(
            task.name, name, entry.measures, task.truth, None, math.nan, math.nan, None, "skipped", 0.0
        )
    values = np.array([r.estimate for r in runs])
    mean, std = float(values.mean()), float(values.std())
    ms = float(np.mean([r.ms_per_step for r in runs]))
    if any(r.diverged for r in runs):
        return Row(
            task.name, name, entry.measures, task.truth, None, mean, std, False, "diverged (NaN/inf)", ms
        )
    if entry.measures == "js":
        if js_truth is None:
            return Row(task.name, name, "js", None, None, mean, std, None, "no JS truth", ms)
        target = dim_to_jsd(js_truth)  # estimates are JSD lower bounds in nats, (V + log 4) / 2
        ok = abs(mean - target) <= max(JS_ABS_TOLERANCE, REL_TOLERANCE * target)
        return Row(task.name, name, "js", target, target, mean, std, ok, "JS divergence (MC truth)", ms)
    if entry.measures != "mi":
        return Row(task.name, name, entry.measures, None, None, mean, std, None, "see Wasserstein checks", ms)
    target, note = task.truth, ""
    if name in INFONCE_NAMES:
        target = min(task.truth, math.log(config.batch_size))
        note = "vs min(truth, log B)"
    tolerance = max(ABS_TOLERANCE, REL_TOLERANCE * target)
    if entry.bound is Bound.UPPER:
        return Row(
            task.name,
            name,
            "mi",
            task.truth,
            target,
            mean,
            std,
            mean >= target - tolerance,
            "upper bound",
            ms,
        )
    if task.truth > GRADED_MAX_TRUTH:
        return Row(
            task.name, name, "mi", task.truth, target, mean, std, None, "truth > 2 nats: not graded", ms
        )
    return Row(
        task.name, name, "mi", task.truth, target, mean, std, abs(mean - target) <= tolerance, note, ms
    )


@dataclass
class CheckReport:
    """Everything a check produced: the protocol, every run and the graded rows."""

    config: CheckConfig
    runs: list[RunResult]
    rows: list[Row]
    wall_seconds: float


def load_estimators() -> None:
    """Imports every module of :mod:`mifusion.estimators` so that all families are registered."""
    import importlib
    import pkgutil

    package = importlib.import_module("mifusion.estimators")
    for module in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"mifusion.estimators.{module.name}")


def _run_registered(name: str, task_name: str, seed: int, config: CheckConfig) -> RunResult:
    """Worker entry point: one thread, the estimator looked up in the registry by name."""
    from mifusion.estimators.base import ESTIMATORS
    from mifusion.estimators.ground_truth import get_task

    torch.set_num_threads(1)
    load_estimators()
    return run_one(name, ESTIMATORS.get(name), get_task(task_name), seed, config)


def run_check(
    entries: Mapping[str, EstimatorEntry],
    tasks: Sequence[Task],
    config: CheckConfig,
    progress: Callable[[RunResult], None] | None = None,
    workers: int = 1,
) -> CheckReport:
    """Runs every estimator in ``entries`` on every two-variable task in ``tasks`` for every seed.

    With ``workers > 1`` the runs go to that many single-threaded processes, which look the estimators up
    in :data:`~mifusion.estimators.base.ESTIMATORS` by name (so ``entries`` must come from it).
    """
    start = time.perf_counter()
    jobs = [(name, task, seed) for task in tasks for name in entries for seed in range(config.seeds)]
    jobs.sort(key=lambda job: job[0] not in INFONCE_NAMES)  # the slowest (B x B critic calls) first
    if workers > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = [pool.submit(_run_registered, n, t.name, s, config) for n, t, s in jobs]
            runs = []
            for future in futures:
                runs.append(future.result())
                if progress is not None:
                    progress(runs[-1])
    else:
        runs = []
        for name, task, seed in jobs:
            runs.append(run_one(name, entries[name], task, seed, config))
            if progress is not None:
                progress(runs[-1])
    rows = []
    for task in tasks:
        js_truth = None
        if any(entry.measures == "js" for entry in entries.values()):
            js_truth = monte_carlo_js(task, JS_MONTE_CARLO_SAMPLES, np.random.default_rng(7))[0]
        for name, entry in entries.items():
            task_runs = [r for r in runs if r.estimator == name and r.task == task.name]
            rows.append(grade(name, entry, task, task_runs, config, js_truth))
    return CheckReport(config, runs, rows, time.perf_counter() - start)
