"""`mifusion estimators ...`: the ground-truth check of the MI estimators and the list of its tasks."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from mifusion.cli.common import add_command, print_json
from mifusion.errors import ConfigError

CHECK_EXAMPLES = """\
  mifusion estimators check                                   # the default check (all estimators, all tasks)
  mifusion estimators check --estimators dv infonce --tasks gauss-1d-rho0.5 student-t-1d-nu1
  mifusion estimators check --steps 200 --seeds 1 --json out/check.json --plot out/check.png
"""
TASKS_EXAMPLES = """\
  mifusion estimators tasks
  mifusion estimators tasks --json
"""


def register(sub: Any) -> None:
    """Registers ``mifusion estimators check`` and ``mifusion estimators tasks``."""
    parser: argparse.ArgumentParser = add_command(
        sub,
        "estimators",
        "Check MI estimators against tasks with known mutual information.",
        CHECK_EXAMPLES + TASKS_EXAMPLES,
        None,
    )

    def show_help(args: argparse.Namespace) -> int:
        parser.print_help()
        return 0

    parser.set_defaults(handler=show_help)
    inner = parser.add_subparsers(dest="estimators_command", metavar="SUBCOMMAND")

    check = add_command(
        inner,
        "check",
        "Train estimators on ground-truth tasks and print a graded table.",
        CHECK_EXAMPLES,
        _check,
    )
    check.add_argument("--estimators", nargs="+", metavar="NAME", help="registered estimators (default: all)")
    check.add_argument(
        "--tasks",
        nargs="+",
        metavar="TASK",
        help="task names (default: the 12 default tasks; see 'mifusion estimators tasks')",
    )
    check.add_argument(
        "--samples", type=int, default=None, help="training samples per task and seed (default 10000)"
    )
    check.add_argument(
        "--heldout", type=int, default=None, help="held-out samples for the estimate (default 4096)"
    )
    check.add_argument("--seeds", type=int, default=None, help="seeds per task, 0 .. K-1 (default 2)")
    check.add_argument("--steps", type=int, default=None, help="training steps per run (default 1000)")
    check.add_argument("--batch-size", type=int, default=None, help="batch size B (default 64)")
    check.add_argument(
        "--lr", type=float, default=None, help="Adam learning rate of every estimator (default 5e-4)"
    )
    check.add_argument(
        "--workers", type=int, default=2, help="parallel single-threaded processes (default 2)"
    )
    check.add_argument("--threads", type=int, default=1, help="torch threads in this process")
    check.add_argument("--json", metavar="OUT", help="write the full report (rows, runs, curves) as JSON")
    check.add_argument("--plot", metavar="OUT.png", help="draw estimate against steps with the truth line")
    check.add_argument("--fail-on-miss", action="store_true", help="exit 1 when a graded row fails")

    tasks = add_command(
        inner, "tasks", "List the ground-truth tasks and their true values.", TASKS_EXAMPLES, _tasks
    )
    tasks.add_argument("--json", action="store_true", help="print JSON instead of a table")


def _positive(args: argparse.Namespace, *names: str) -> None:
    for name in names:
        if getattr(args, name) < 1:
            raise ConfigError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(args, name)}")


def _check(args: argparse.Namespace) -> int:
    import torch

    from mifusion.estimators.base import ESTIMATORS
    from mifusion.estimators.ground_truth import DEFAULT_TASKS, get_task
    from mifusion.evaluation.estimator_check.harness import CheckConfig, load_estimators, run_check
    from mifusion.evaluation.estimator_check.report import (
        format_table,
        format_wasserstein,
        plot_curves,
        wasserstein_checks,
        write_json,
    )

    defaults = CheckConfig()
    for arg, name in [
        ("samples", "train_samples"),
        ("heldout", "heldout_samples"),
        ("seeds", "seeds"),
        ("steps", "steps"),
        ("batch_size", "batch_size"),
        ("lr", "lr"),
    ]:
        if getattr(args, arg) is None:
            setattr(args, arg, getattr(defaults, name))
    _positive(args, "samples", "heldout", "seeds", "steps", "batch_size", "workers", "threads")
    if args.batch_size > min(args.samples, args.heldout):
        raise ConfigError(f"--batch-size {args.batch_size} exceeds --samples or --heldout; lower it")
    torch.set_num_threads(args.threads)
    load_estimators()
    names = args.estimators or list(ESTIMATORS.names())
    if not names:
        raise ConfigError("no estimators are registered; install mifusion with its estimators package")
    entries = {name: ESTIMATORS.get(name) for name in names}
    tasks = [get_task(t) for t in (args.tasks or DEFAULT_TASKS)]
    if not any(len(t.dims) == 2 for t in tasks):
        raise ConfigError(
            "--tasks: the check needs at least one two-variable task (see 'mifusion estimators tasks')"
        )
    config = CheckConfig(
        train_samples=args.samples,
        heldout_samples=args.heldout,
        batch_size=args.batch_size,
        steps=args.steps,
        seeds=args.seeds,
        lr=args.lr,
    )

    def progress(run: Any) -> None:
        print(f"  {run.task:<32} {run.estimator:<16} seed {run.seed}: {run.estimate:.4f}", file=sys.stderr)

    report = run_check(entries, tasks, config, progress=progress, workers=args.workers)
    print(format_table(report.rows))
    checks = wasserstein_checks(report.rows, report.runs)
    if checks:
        print("\n" + format_wasserstein(checks))
    graded = [r for r in report.rows if r.passed is not None]
    failed = [r for r in graded if not r.passed] + [c for c in checks if not c.passed]
    print(
        f"\n{len(graded) - len(failed)}/{len(graded)} graded rows pass; wall time {report.wall_seconds:.0f} s"
    )
    if args.json:
        write_json(report, args.json)
    if args.plot:
        plot_curves(report, args.plot)
    return 1 if args.fail_on_miss and failed else 0


def _tasks(args: argparse.Namespace) -> int:
    from mifusion.estimators.ground_truth import TASKS

    items: list[dict[str, Any]] = [
        {
            "name": t.name,
            "dims": list(t.dims),
            "truth": t.truth,
            "entropy_y": t.entropy_y,
            "description": t.description,
        }
        for t in TASKS.values()
    ]
    if args.json:
        print_json(items)
        return 0
    print("| task | dims | truth (nats) | H(Y) | description |\n|---|---|---|---|---|")
    for item in items:
        dims = "x".join(str(d) for d in item["dims"])
        print(
            f"| {item['name']} | {dims} | {item['truth']:.5f} | {item['entropy_y']:.4f} | {item['description']} |"
        )
    return 0
