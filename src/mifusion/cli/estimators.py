"""`mifusion estimators ...`: the ground-truth check of the MI estimators and the list of its tasks."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from mifusion.cli.common import add_command, print_json, require_positive
from mifusion.cli.estimate import ESTIMATE_EXAMPLES, add_estimate
from mifusion.errors import ConfigError

CHECK_EXAMPLES = """\
  mifusion estimators check                                   # the default check (all estimators, all tasks)
  mifusion estimators check --estimators dv infonce --tasks gauss-1d-rho0.5 student-t-1d-nu1
  mifusion estimators check --steps 200 --seeds 1 --json out/check.json --plot out/check.png
  mifusion estimators check --suite beyond-normal --seeds 1 --heatmap out/bn.png    # registry defaults, KSG, CCA
  mifusion estimators check --suite beyond-normal --task-options --reference-json out/bmi.json
  mifusion estimators check --suite consistency --plot out/consistency.png
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
        CHECK_EXAMPLES + ESTIMATE_EXAMPLES + TASKS_EXAMPLES,
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
    check.add_argument(
        "--suite",
        choices=("ground-truth", "beyond-normal", "consistency", "entropy"),
        default="ground-truth",
        help="ground-truth (12 tasks, per-task options), beyond-normal (the 40 tasks of Czyz et al. 2023, "
        "registry defaults), consistency (independence, data processing, additivity) or entropy (MMIM's "
        "label-split H(Y) on Gaussian mixtures)",
    )
    check.add_argument(
        "--estimators",
        nargs="+",
        metavar="NAME",
        help="registered estimators, ksg, cca (default: the suite's)",
    )
    check.add_argument(
        "--tasks",
        nargs="+",
        metavar="TASK",
        help="task names (default: the suite's tasks; see 'mifusion estimators tasks --suite ...')",
    )
    check.add_argument(
        "--task-options",
        action="store_true",
        help="beyond-normal: also run the estimators that have per-task options with them (a second, "
        "labelled row each)",
    )
    check.add_argument(
        "--reference-json",
        nargs="+",
        metavar="IN",
        help="another implementation's estimates (benchmarks/beyond_normal_package.py) or earlier --json "
        "reports, shown in the same table",
    )
    check.add_argument(
        "--from-json",
        action="store_true",
        help="run nothing: tabulate the --reference-json files only (summary, matrix, heat map)",
    )
    check.add_argument(
        "--options",
        choices=("defaults", "protocol"),
        help="override the suite's options: registry defaults, or the per-task options (labelled rows)",
    )
    check.add_argument("--heatmap", metavar="OUT.png", help="draw estimate / truth per task and estimator")
    check.add_argument(
        "--samples",
        type=int,
        default=None,
        help="training samples per task and seed (default 10000; beyond-normal, consistency 5000)",
    )
    check.add_argument(
        "--heldout",
        type=int,
        default=None,
        help="held-out samples for the estimate (default 4096; beyond-normal, consistency 5000)",
    )
    check.add_argument(
        "--seeds", type=int, default=None, help="seeds per task, 0 .. K-1 (default 2; consistency 1)"
    )
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
    check.add_argument(
        "--plot",
        metavar="OUT.png",
        help="draw estimate against steps with the truth line (consistency: the three checks' figures)",
    )
    check.add_argument("--fail-on-miss", action="store_true", help="exit 1 when a graded row fails")

    add_estimate(inner)

    tasks = add_command(
        inner, "tasks", "List the ground-truth tasks and their true values.", TASKS_EXAMPLES, _tasks
    )
    tasks.add_argument("--json", action="store_true", help="print JSON instead of a table")
    tasks.add_argument(
        "--suite", choices=("ground-truth", "beyond-normal", "consistency"), default="ground-truth"
    )


def _check(args: argparse.Namespace) -> int:
    from pathlib import Path

    import torch

    from mifusion.estimators.base import ESTIMATORS
    from mifusion.evaluation.estimator_check.consistency import (
        check_consistency,
        format_consistency,
        plot_consistency,
    )
    from mifusion.evaluation.estimator_check.harness import CheckReport, any_task, load_estimators, lookup
    from mifusion.evaluation.estimator_check.records import CheckConfig
    from mifusion.evaluation.estimator_check.report import (
        format_table,
        format_wasserstein,
        plot_curves,
        wasserstein_checks,
        write_json,
    )
    from mifusion.evaluation.estimator_check.suites import SUITES, reference_rows, run_suite
    from mifusion.evaluation.estimator_check.summary import format_matrix, format_summary, plot_heatmap

    if args.suite == "entropy":
        return _entropy(args)
    suite = SUITES[args.suite]
    defaults = suite.config
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
    require_positive(args, "samples", "heldout", "seeds", "steps", "batch_size", "workers", "threads")
    if args.batch_size > min(args.samples, args.heldout):
        raise ConfigError(f"--batch-size {args.batch_size} exceeds --samples or --heldout; lower it")
    if args.task_options and (args.options or suite.options) != "defaults":
        raise ConfigError(f"--task-options: the {args.suite} suite already runs with per-task options")
    for path in args.reference_json or []:
        if not Path(path).is_file():
            raise ConfigError(f"--reference-json: no such file: {path}")
    if args.from_json and not args.reference_json:
        raise ConfigError("--from-json needs --reference-json FILE...")
    load_estimators()
    names = args.estimators or list(suite.estimators or ESTIMATORS.names())
    if not names:
        raise ConfigError("no estimators are registered; install mifusion with its estimators package")
    for name in names:
        lookup(name)  # an unknown name is a ConfigError listing the registered ones
    tasks = [any_task(t) for t in (args.tasks or suite.tasks)]
    if not any(len(t.dims) == 2 for t in tasks):
        raise ConfigError(
            "--tasks: the check needs at least one two-variable task (see 'mifusion estimators tasks')"
        )
    torch.set_num_threads(args.threads)
    options = args.options or suite.options
    config = CheckConfig(
        train_samples=args.samples,
        heldout_samples=args.heldout,
        batch_size=args.batch_size,
        steps=args.steps,
        seeds=args.seeds,
        lr=args.lr,
        options=options,
    )

    def progress(run: Any) -> None:
        print(f"  {run.task:<40} {run.estimator:<16} seed {run.seed}: {run.estimate:.4f}", file=sys.stderr)

    if args.from_json:
        report = CheckReport(config, [], [], 0.0)
    else:
        report = run_suite(
            names, tasks, config, task_options=args.task_options, workers=args.workers, progress=progress
        )
    for path in args.reference_json or []:
        report.rows.extend(reference_rows(path, tasks))
    print(format_table(report.rows))
    checks = wasserstein_checks(report.rows, report.runs)
    if checks:
        print("\n" + format_wasserstein(checks))
    consistency = check_consistency(report.rows) if args.suite == "consistency" else []
    if consistency:
        print("\n" + format_consistency(consistency))
    print("\n" + format_summary(report.rows))
    if args.suite == "beyond-normal":
        print("\n" + format_matrix(report.rows))
    graded = [r for r in report.rows if r.passed is not None and r.options != "package"]
    failed = [r.task for r in graded if not r.passed] + [c.estimator for c in checks if not c.passed]
    failed += [c.estimator for c in consistency if not c.passed]
    print(
        f"\n{len(graded) - sum(not r.passed for r in graded)}/{len(graded)} graded rows pass; "
        f"wall time {report.wall_seconds:.0f} s"
    )
    if args.json:
        write_json(report, args.json)
    if args.plot:
        if consistency:
            plot_consistency(consistency, args.plot)
        else:
            plot_curves(report, args.plot)
    if args.heatmap:
        plot_heatmap(report.rows, args.heatmap, f"{args.suite}: estimate / truth")
    return 1 if args.fail_on_miss and failed else 0


def _entropy(args: argparse.Namespace) -> int:
    from mifusion.evaluation.estimator_check.entropy_check import format_entropy, run_entropy_check

    if (
        args.estimators
        or args.tasks
        or args.json
        or args.plot
        or args.heatmap
        or args.reference_json
        or args.options
    ):
        raise ConfigError("--suite entropy takes only --batch-size, --seeds and --fail-on-miss")
    batch_size = args.batch_size or 64
    seeds = args.seeds or 1
    require_positive(argparse.Namespace(batch_size=batch_size, seeds=seeds), "batch_size", "seeds")
    rows = [row for seed in range(seeds) for row in run_entropy_check(batch_size=batch_size, seed=seed)]
    print(format_entropy(rows))
    passed = sum(r.passed for r in rows)
    print(f"\n{passed}/{len(rows)} mixtures within 0.1 nats of H(Y)")
    return 1 if args.fail_on_miss and passed < len(rows) else 0


def _tasks(args: argparse.Namespace) -> int:
    from mifusion.evaluation.estimator_check.harness import any_task
    from mifusion.evaluation.estimator_check.suites import SUITES

    tasks = [any_task(name) for name in SUITES[args.suite].tasks]
    if args.suite == "ground-truth":
        from mifusion.estimators.ground_truth import TASKS

        tasks = list(TASKS.values())

    items: list[dict[str, Any]] = [
        {
            "name": t.name,
            "dims": list(t.dims),
            "truth": t.truth,
            "entropy_y": t.entropy_y,
            "description": t.description,
        }
        for t in tasks
    ]
    if args.json:
        print_json(items)
        return 0
    print("| task | dims | truth (nats) | H(Y) | description |\n|---|---|---|---|---|")
    for item in items:
        dims = "x".join(str(d) for d in item["dims"])
        print(
            f"| {item['name']} | {dims} | {item['truth']:.5f} | {'-' if item['entropy_y'] is None else format(item['entropy_y'], '.4f')} | {item['description']} |"
        )
    return 0
