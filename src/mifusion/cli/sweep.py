"""``mifusion sweep``: Optuna studies shared by any number of workers; ``report`` and ``retrain``."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from mifusion.cli.common import add_command

log = logging.getLogger("mifusion.sweep")

EXAMPLES = """\
  mifusion sweep --preset default --trials 20                       # SQLite in runs/sweep_default
  mifusion sweep --preset default --trials 40 --workers 2 --set train.epochs=4
  mifusion sweep --preset mosi_mmim --trials 100 --study mosi \\
      --storage postgresql://USER:PASSWORD@HOST:5432/sweeps        # run this on every host/GPU
  mifusion sweep report --storage sqlite:///runs/sweep_default/study.db --study sweep_default
  mifusion sweep retrain --storage sqlite:///runs/sweep_default/study.db --study sweep_default
"""


def register(sub: Any) -> None:
    """Registers ``mifusion sweep``."""
    parser = add_command(
        sub,
        "sweep",
        "Hyper-parameter search over the config's search_space, selecting on validation only.",
        EXAMPLES,
        _handle,
    )
    parser.add_argument(
        "action",
        nargs="?",
        default="run",
        choices=("run", "report", "retrain"),
        help="run workers (default), write the study report, or retrain the best config over seeds",
    )
    source = parser.add_argument_group("what to search")
    source.add_argument(
        "--preset", help="shipped preset (mifusion list presets); its search_space, else lr and dropout"
    )
    source.add_argument("--config", help="YAML config file instead of a preset")
    source.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help="fix a config value (also removes it from the search space); repeatable",
    )  # fmt: skip
    source.add_argument(
        "--trials",
        type=int,
        default=20,
        help="finished (complete or pruned) trials wanted in the study, all workers together",
    )
    source.add_argument("--pruner", default="median", choices=("median", "halving", "none"))
    source.add_argument(
        "--seeds-per-trial", type=int, default=1, help="objective = mean over this many seeds"
    )
    source.add_argument("--sampler-seed", type=int, default=None, help="seed of the TPE sampler")
    source.add_argument("--trainer", default=None, help=argparse.SUPPRESS)
    where = parser.add_argument_group("where the study lives")
    where.add_argument("--storage", help="study DB URL or SQLite file (default: sqlite:///OUT/study.db)")
    where.add_argument("--study", help="study name (default: sweep_<preset>); workers sharing it cooperate")
    where.add_argument("--out", help="output directory (default: runs/<study>)")
    where.add_argument("--workers", type=int, default=1, help="local worker processes to start")
    where.add_argument("--heartbeat", type=int, default=10, help="seconds between trial heartbeats")
    where.add_argument("--grace", type=int, default=30, help="seconds without heartbeat before a trial FAILs")
    where.add_argument("--max-retry", type=int, default=2, help="re-runs of a trial whose worker died")
    where.add_argument("--no-report", action="store_true", help=argparse.SUPPRESS)
    after = parser.add_argument_group("report and retrain")
    after.add_argument("--top", type=int, default=10, help="trials in the report's table")
    after.add_argument(
        "--retrain-seeds", type=int, default=None, metavar="N",
        help="after the report, retrain the best config over N seeds (retrain: default 5)",
    )  # fmt: skip


def _study_name(args: argparse.Namespace) -> str:
    if args.study:
        return str(args.study)
    if args.action != "run":
        raise _error("give --study NAME (the name the sweep was run with)")
    stem = args.preset or (Path(args.config).stem if args.config else "default")
    return f"sweep_{stem}"


def _error(message: str) -> Exception:
    from mifusion.errors import ConfigError

    return ConfigError(message)


def _settings(args: argparse.Namespace, out: Path) -> Any:
    from mifusion.sweeps.study import StorageSettings, storage_url

    if args.heartbeat < 1 or args.grace <= args.heartbeat:
        raise _error("--heartbeat must be >= 1 and --grace larger than --heartbeat (e.g. 10 and 30)")
    return StorageSettings(storage_url(args.storage, out), args.heartbeat, args.grace, args.max_retry)


def _retrain_seeds(args: argparse.Namespace) -> int:
    return int(
        args.retrain_seeds if args.retrain_seeds is not None else (5 if args.action == "retrain" else 0)
    )


def _retrain_dir(out: Path, seeds_n: int) -> Path:
    """``OUT/retrain``; refused when a retrain would go into a folder that already holds one."""
    retrain_dir = out / "retrain"
    if seeds_n > 0 and retrain_dir.is_dir() and any(retrain_dir.iterdir()):
        raise _error(
            f"{retrain_dir}: already holds a retrained run; move it away (nothing is overwritten) or give "
            "another --out"
        )
    return retrain_dir


def _handle(args: argparse.Namespace) -> int:
    study_name = _study_name(args)
    out = Path(args.out) if args.out else Path("runs") / study_name
    settings = _settings(args, out)
    _retrain_dir(out, _retrain_seeds(args))  # before any trial runs
    if args.action == "run":
        _run(args, study_name, out, settings)
        if args.no_report:
            return 0
    return _report(args, study_name, out, settings)


def _child_argv(args: argparse.Namespace, study_name: str, out: Path, url: str) -> list[str]:
    argv = ["sweep", "run", "--study", study_name, "--out", str(out), "--storage", url, "--no-report"]
    for flag in ("preset", "config", "trainer", "sampler_seed"):
        if getattr(args, flag) is not None:
            argv += [f"--{flag.replace('_', '-')}", str(getattr(args, flag))]
    for override in args.overrides:
        argv += ["--set", override]
    argv += ["--trials", str(args.trials), "--pruner", args.pruner]
    argv += ["--seeds-per-trial", str(args.seeds_per_trial), "--heartbeat", str(args.heartbeat)]
    argv += ["--grace", str(args.grace), "--max-retry", str(args.max_retry)]
    return argv


def _run(args: argparse.Namespace, study_name: str, out: Path, settings: Any) -> None:
    from mifusion.experiments.validation import check_config
    from mifusion.presets import resolve
    from mifusion.sweeps.objective import DEFAULT_TRAINER, load_trainer
    from mifusion.sweeps.space import declared_space, free_parameters, parse_search_space
    from mifusion.sweeps.study import mask_url
    from mifusion.sweeps.worker import SweepPlan, run_worker, spawn_workers

    if args.trials < 1 or args.workers < 1 or args.seeds_per_trial < 1:
        raise _error("--trials, --workers and --seeds-per-trial must be positive")
    cfg = resolve(args.preset, args.config, args.overrides)
    if args.trainer is None:  # the real trainer: every trial would fail on a bad config; refuse it now
        check_config(cfg)
    specs = free_parameters(parse_search_space(declared_space(cfg)), args.overrides)
    if not specs:
        raise _error("nothing to search: every search_space parameter is fixed by --set; drop one --set")
    plan = SweepPlan(
        cfg, specs, study_name, args.trials, args.pruner, args.seeds_per_trial, args.sampler_seed
    )
    train_fn = load_trainer(args.trainer or DEFAULT_TRAINER)
    log.info("study %s in %s: %d parameters, %d complete trials wanted", study_name,
             mask_url(settings.url), len(specs), args.trials)  # fmt: skip
    if args.workers == 1:
        summary = run_worker(plan, settings, train_fn, out)
        log.info(
            "study %s: %d complete, %d pruned, %d failed; best validation %s = %s",
            study_name, summary.complete, summary.pruned, summary.failed,
            cfg.train.select_metric, summary.best_value,
        )  # fmt: skip
        return
    _prepare_study(plan, settings)
    codes = spawn_workers(_child_argv(args, study_name, out, settings.url), args.workers)
    if any(codes):
        raise _error(f"{sum(1 for c in codes if c)} of {args.workers} workers failed (exit codes {codes})")


def _prepare_study(plan: Any, settings: Any) -> None:
    """Creates the study once before local workers start (no race on table creation)."""
    from mifusion.config import to_dict
    from mifusion.sweeps.objective import make_pruner, metric_direction
    from mifusion.sweeps.study import load_or_create_study, open_storage

    metric = plan.base.train.select_metric
    study = load_or_create_study(
        open_storage(settings), plan.study_name, metric_direction(metric), make_pruner(plan.pruner)
    )
    if "base_config" not in study.user_attrs:
        study.set_user_attr("base_config", to_dict(plan.base))
        study.set_user_attr("metric", metric)


def _require_existing_sqlite(url: str) -> None:
    """report/retrain read a study: a SQLite file that does not exist is an error, never created."""
    if not url.startswith("sqlite"):
        return
    path = url.split("///", 1)[-1]
    if path and path != ":memory:" and not Path(path).is_file():
        raise _error(
            f"{path}: no study database here; check --storage (a sweep writes OUT/study.db, "
            "e.g. sqlite:///runs/sweep_default/study.db)"
        )


def _report(args: argparse.Namespace, study_name: str, out: Path, settings: Any) -> int:
    from mifusion.sweeps.report import RETRAIN_SEEDS, retrain_best, write_report
    from mifusion.sweeps.study import load_study, open_storage

    _require_existing_sqlite(settings.url)
    seeds_n = _retrain_seeds(args)
    retrain_dir = _retrain_dir(out, seeds_n)
    study = load_study(open_storage(settings), study_name)
    if args.action != "retrain":
        report = write_report(study, out / "report", top=args.top)
        counts = ", ".join(f"{n} {s.lower()}" for s, n in sorted(report.counts.items()))
        log.info("trials: %s", counts)
        log.info("best trial %d: validation %s", report.best_number, report.best_value)
        log.info("report: %s\nbest config: %s", report.markdown, report.best_config)
    if seeds_n > 0:
        first = RETRAIN_SEEDS[0]
        seeds = tuple(range(first, first + seeds_n))
        path = retrain_best(study, retrain_dir, seeds)
        log.info("%s", path.read_text(encoding="utf-8"))
    return 0
