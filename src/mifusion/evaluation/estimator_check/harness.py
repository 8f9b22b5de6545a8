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
from mifusion.estimators.fitting import fit, heldout_estimates
from mifusion.estimators.ground_truth import Task, monte_carlo_js
from mifusion.evaluation.estimator_check.grading import grade
from mifusion.evaluation.estimator_check.records import (
    INFONCE_NAMES,
    JS_TRAINED_NAMES,
    CheckConfig,
    Row,
    RunResult,
)

JS_MONTE_CARLO_SAMPLES = 400_000
BA_DISTRIBUTIONS = {"student-t": "student_t", "uniform": "mixture"}
"""Barber-Agakov's q family per task family (Gaussian elsewhere): no single family passes every task."""


def classical_builder(*dims: int, **options: Any) -> MIEstimator:
    """Marks a classical (untrained) estimator's entry; it is never built."""
    raise UnsupportedTask("classical estimators are functions of the samples, not modules")


CLASSICAL_ENTRIES: dict[str, EstimatorEntry] = {
    "ksg": EstimatorEntry(classical_builder, Bound.NEITHER, "mi", "KSG k-nearest neighbours (k = 3)"),
    "cca": EstimatorEntry(classical_builder, Bound.NEITHER, "mi", "Gaussian MI from canonical correlations"),
}
"""The classical baselines (:mod:`mifusion.estimators.classical`) as check entries."""


def lookup(name: str) -> EstimatorEntry:
    """A registered estimator family or a classical baseline by name."""
    from mifusion.estimators.base import ESTIMATORS

    return CLASSICAL_ENTRIES[name] if name in CLASSICAL_ENTRIES else ESTIMATORS.get(name)


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
    options = task_options(name, task) if config.options == "protocol" else {}
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


def _run_classical(name: str, task: Task, seed: int, config: CheckConfig) -> RunResult:
    """A classical estimator on consecutive held-out blocks of ``config.classical_block`` rows."""
    from mifusion.estimators.classical import CLASSICAL

    if len(task.dims) != 2:
        return RunResult(
            name, task.name, seed, math.nan, 0.0, False, skipped="two variables only", options=config.options
        )
    heldout = task.sample_arrays(config.heldout_samples, np.random.default_rng([seed, 1]))
    block = min(config.classical_block, config.heldout_samples)
    start = time.perf_counter()
    values = [
        CLASSICAL[name](heldout[0][i : i + block], heldout[1][i : i + block])
        for i in range(0, config.heldout_samples - block + 1, block)
    ]
    seconds = time.perf_counter() - start
    estimate = float(np.mean(values))
    diverged = not math.isfinite(estimate)
    return RunResult(
        name,
        task.name,
        seed,
        estimate,
        0.0,
        diverged,
        batch_estimates=values,
        seconds=seconds,
        options=config.options,
    )


def run_one(name: str, entry: EstimatorEntry, task: Task, seed: int, config: CheckConfig) -> RunResult:
    """Trains ``entry`` on ``task`` with ``seed`` and evaluates it on the held-out set."""
    if entry.builder is classical_builder:
        return _run_classical(name, task, seed, config)
    started = time.perf_counter()
    rng = np.random.default_rng([seed, 0])
    train = task.sample(config.train_samples, rng)
    heldout = task.sample(config.heldout_samples, np.random.default_rng([seed, 1]))
    torch.manual_seed(seed)
    try:
        estimator = build_estimator(name, entry, task, config)
    except UnsupportedTask as err:
        return RunResult(
            name, task.name, seed, float("nan"), 0.0, False, skipped=str(err), options=config.options
        )
    result = fit(
        estimator,
        train,
        heldout,
        steps=config.steps,
        batch_size=config.batch_size,
        lr=config.lr,
        seed=seed,
        curve_points=config.curve_points,
        curve_batches=config.curve_batches,
    )
    values = heldout_estimates(estimator, heldout, config.batch_size) if not result.diverged else np.array([])
    estimate = float(values.mean()) if values.size else float("nan")
    diverged = result.diverged or not math.isfinite(estimate)
    last = result.last
    diagnostics = {}
    if last is not None:
        diagnostics = {
            k: float(v.detach().float().mean()) for k, v in last.diagnostics.items() if v.numel() > 0
        }
    if not diverged:
        diagnostics.update(gradient_norms(estimator, [d[: config.batch_size] for d in heldout]))
    return RunResult(
        name,
        task.name,
        seed,
        estimate,
        1000.0 * result.train_seconds / max(result.steps, 1),
        diverged,
        result.curve,
        diagnostics,
        batch_estimates=[float(v) for v in values],
        seconds=time.perf_counter() - started,
        options=config.options,
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
    torch.set_num_threads(1)
    load_estimators()
    return run_one(name, lookup(name), any_task(task_name), seed, config)


def any_task(name: str) -> Task:
    """A task of any suite by name (ground truth, Beyond Normal, consistency)."""
    from mifusion.estimators.beyond_normal import find_task
    from mifusion.evaluation.estimator_check.consistency import CONSISTENCY_TASKS

    return CONSISTENCY_TASKS[name] if name in CONSISTENCY_TASKS else find_task(name)


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
