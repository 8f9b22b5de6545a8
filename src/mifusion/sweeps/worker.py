"""Sweep workers: each joins the study and runs trials until it holds N finished trials in total.

Any number of workers (shells, hosts, scheduler jobs) with the same storage URL and study name share
one study. A finished trial is COMPLETE or PRUNED (Optuna's ``n_trials`` semantics: a pruned trial spent
its budget); FAIL trials (killed workers) do not count. Before each trial a worker fails stale trials,
then starts a trial only while ``finished + running < N``; when the running trials would reach N it waits
for them, so a trial that dies is retried instead of leaving the study short. Two workers starting a trial at the same
instant can overshoot N by at most ``workers - 1``.

Example:
    >>> import tempfile
    >>> from mifusion.sweeps.toy import train_toy
    >>> plan = SweepPlan(ExperimentConfig(train=TrainConfig(epochs=3)), (), "s", 2)
    >>> tmp = Path(tempfile.mkdtemp())
    >>> settings = StorageSettings(f"sqlite:///{tmp}/study.db", heartbeat_interval=1, grace_period=2)
    >>> summary = run_worker(plan, settings, train_toy, tmp)
    >>> summary.trials_run, summary.complete
    (2, 2)
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mifusion.config import ExperimentConfig, TrainConfig  # noqa: F401  (TrainConfig: doctest)
from mifusion.sweeps.objective import (
    ObjectiveSettings,
    TrainFn,
    make_objective,
    make_pruner,
    metric_direction,
)
from mifusion.sweeps.space import ParamSpec
from mifusion.sweeps.study import StorageSettings, fail_stale_trials, load_or_create_study, open_storage
from mifusion.training.threads import available_cores, worker_threads

log = logging.getLogger(__name__)
WAIT_S = 1.0

__all__ = ["SweepPlan", "WorkerSummary", "run_worker", "spawn_workers", "state_counts", "worker_environment"]


@dataclass(frozen=True)
class SweepPlan:
    """One study: base config, free parameters, name and the number of finished trials wanted."""

    base: ExperimentConfig
    specs: tuple[ParamSpec, ...]
    study_name: str
    n_trials: int
    pruner: str = "median"
    seeds_per_trial: int = 1
    sampler_seed: int | None = None


@dataclass(frozen=True)
class WorkerSummary:
    """What one worker did and where the study stands when it stops."""

    trials_run: int
    complete: int
    pruned: int
    failed: int
    best_value: float | None


def state_counts(study: Any) -> dict[str, int]:
    """Trial counts per state name (COMPLETE, PRUNED, FAIL, RUNNING, WAITING)."""
    counts: dict[str, int] = {}
    for trial in study.get_trials(deepcopy=False):
        counts[trial.state.name] = counts.get(trial.state.name, 0) + 1
    return counts


def _objective_settings(plan: SweepPlan) -> ObjectiveSettings:
    metric = plan.base.train.select_metric
    first = plan.base.train.seeds[0] if plan.base.train.seeds else 0
    seeds = tuple(first + i for i in range(max(1, plan.seeds_per_trial)))
    return ObjectiveSettings(metric=metric, direction=metric_direction(metric), seeds=seeds)


def _collect(into: list[Any]) -> Any:
    """An optimize callback that records each finished trial in ``into``."""

    def callback(_study: Any, trial: Any) -> None:
        into.append(trial)

    return callback


def run_worker(plan: SweepPlan, settings: StorageSettings, train_fn: TrainFn, run_dir: Path) -> WorkerSummary:
    """Runs trials on the shared study until it has ``plan.n_trials`` finished (COMPLETE or PRUNED) trials."""
    import optuna

    from mifusion.config import to_dict

    objective_settings = _objective_settings(plan)
    storage = open_storage(settings)
    sampler = optuna.samplers.TPESampler(seed=plan.sampler_seed) if plan.sampler_seed is not None else None
    study = load_or_create_study(
        storage,
        plan.study_name,
        objective_settings.direction,
        pruner=make_pruner(plan.pruner, warmup_epochs=1),
        sampler=sampler,
    )
    if "base_config" not in study.user_attrs:
        study.set_user_attr("base_config", to_dict(plan.base))
        study.set_user_attr("metric", objective_settings.metric)
    objective = make_objective(plan.base, plan.specs, train_fn, run_dir, objective_settings)
    trials_run = 0
    while True:
        fail_stale_trials(study)
        counts = state_counts(study)
        finished_trials = counts.get("COMPLETE", 0) + counts.get("PRUNED", 0)
        running = counts.get("RUNNING", 0)
        if finished_trials >= plan.n_trials:
            break
        if finished_trials + running >= plan.n_trials:
            time.sleep(WAIT_S)  # the running trials may finish the study, or die and be retried
            continue
        finished: list[Any] = []
        study.optimize(objective, n_trials=1, callbacks=[_collect(finished)])
        trials_run += 1
        for trial in finished:
            log.info("worker %d: trial %d %s", os.getpid(), trial.number, trial.state.name)
    counts = state_counts(study)
    best = study.best_value if counts.get("COMPLETE", 0) else None
    return WorkerSummary(
        trials_run=trials_run,
        complete=counts.get("COMPLETE", 0),
        pruned=counts.get("PRUNED", 0),
        failed=counts.get("FAIL", 0),
        best_value=best,
    )


THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")


def worker_environment(environ: Mapping[str, str], workers: int, cores: int) -> dict[str, str]:
    """The environment of each of ``workers`` local workers: the cores split between them.

    ``OMP_NUM_THREADS`` / ``MKL_NUM_THREADS`` become each worker's share (``cores // workers``, at least
    1) unless already set lower; a run whose ``train.num_threads`` is unset then uses that share, so the
    workers together never ask for more threads than there are cores. An explicit ``train.num_threads``
    still wins.

    Example:
        >>> worker_environment({"OMP_NUM_THREADS": "1"}, workers=2, cores=8)["OMP_NUM_THREADS"]
        '1'
        >>> worker_environment({}, workers=2, cores=8)["MKL_NUM_THREADS"]
        '4'
    """
    share = worker_threads(cores, workers)
    env = dict(environ)
    for key in THREAD_VARIABLES:
        current = env.get(key, "")
        if not current.isdigit() or not 1 <= int(current) <= share:
            env[key] = str(share)
    return env


def spawn_workers(argv: Sequence[str], workers: int) -> list[int]:
    """Starts ``workers`` local processes running ``mifusion <argv> --workers 1``; returns exit codes.

    Each worker gets its share of the cores (:func:`worker_environment`).
    """
    code = "import sys; from mifusion.cli import main; sys.exit(main())"
    command = [sys.executable, "-c", code, *argv, "--workers", "1"]
    env = worker_environment(os.environ, workers, available_cores())
    log.info("%d workers, %s threads each", workers, env[THREAD_VARIABLES[0]])
    processes = [subprocess.Popen(command, env=env) for _ in range(workers)]
    try:
        return [process.wait() for process in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
                process.wait()
