"""`mifusion estimators estimate X Y`: mutual information of the user's own paired arrays, with an interval."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from mifusion.cli.common import add_command, require_positive
from mifusion.errors import ConfigError

ESTIMATE_EXAMPLES = """\
  mifusion estimators estimate x.npy y.npy                     # the default estimator, 95 % interval
  mifusion estimators estimate feats.npz:audio feats.npz:text --estimator ksg
  mifusion estimators estimate x.csv y.csv --estimator infonce --batch-size 256 --json out/mi.json
"""


def add_estimate(inner: Any) -> None:
    """Registers ``estimate`` under ``mifusion estimators``."""
    estimate = add_command(
        inner,
        "estimate",
        "Estimate I(X; Y) from your own paired arrays (.npy, .npz, .csv), with an interval.",
        ESTIMATE_EXAMPLES,
        _estimate,
    )
    estimate.add_argument("x", help="X: .npy, .npz (one array, or FILE.npz:KEY) or .csv, rows x features")
    estimate.add_argument("y", help="Y: the same kinds, the same number of rows, row i paired with X's row i")
    estimate.add_argument(
        "--estimator", default=None, help="a registered MI family or ksg / cca (default: smile)"
    )
    estimate.add_argument("--steps", type=int, default=1000, help="training steps (default 1000)")
    estimate.add_argument("--batch-size", type=int, default=64, help="batch size B (default 64)")
    estimate.add_argument("--lr", type=float, default=5e-4, help="Adam learning rate (default 5e-4)")
    estimate.add_argument(
        "--heldout-fraction", type=float, default=0.5, help="rows held out for the estimate (default 0.5)"
    )
    estimate.add_argument("--seed", type=int, default=0, help="row split, initialisation and batches")
    estimate.add_argument("--level", type=float, default=0.95, help="interval level (default 0.95)")
    estimate.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    estimate.add_argument("--json", metavar="OUT", help="also write the result as JSON")


def _estimate(args: argparse.Namespace) -> int:
    import dataclasses
    import json
    from pathlib import Path

    import torch

    from mifusion.estimators.estimate import DEFAULT_ESTIMATOR, check_arrays, estimate_mi, load_array
    from mifusion.evaluation.estimator_check.harness import lookup
    from mifusion.writers import atomic_write_text

    require_positive(args, "steps", "batch_size", "threads")
    if not 0.0 < args.heldout_fraction < 1.0:
        raise ConfigError(f"--heldout-fraction must be in (0, 1), got {args.heldout_fraction}")
    if not 0.0 < args.level < 1.0:
        raise ConfigError(f"--level must be in (0, 1), got {args.level}")
    if args.lr <= 0:
        raise ConfigError(f"--lr must be positive, got {args.lr}")
    name = args.estimator or DEFAULT_ESTIMATOR
    entry = lookup(name)
    if entry.measures != "mi":
        raise ConfigError(f"--estimator {name!r} estimates {entry.measures}, not mutual information")
    if args.json and not Path(args.json).resolve().parent.is_dir():
        raise ConfigError(f"--json: no such directory: {Path(args.json).parent}")
    x, y = check_arrays(load_array(args.x), load_array(args.y), args.batch_size)
    held = round(args.heldout_fraction * x.shape[0])
    if name not in ("ksg", "cca") and (x.shape[0] - held < args.batch_size or held < 2 * args.batch_size):
        raise ConfigError(
            f"{x.shape[0]} rows with --heldout-fraction {args.heldout_fraction} leave too few rows for "
            f"--batch-size {args.batch_size}"
        )
    torch.set_num_threads(args.threads)
    result = estimate_mi(
        x,
        y,
        estimator=name,
        steps=args.steps,
        batch_size=args.batch_size,
        lr=args.lr,
        heldout_fraction=args.heldout_fraction,
        seed=args.seed,
        level=args.level,
    )
    print(result.summary())
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if args.json:
        atomic_write_text(Path(args.json), json.dumps(dataclasses.asdict(result), indent=2))
    return 0
