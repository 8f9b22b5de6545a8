"""MMIM against the same network with its MI terms off, per weight decay and seed.

Trains the ``default`` preset's MMIM and the same network with ``alpha=beta=0`` (the MI terms off) at each
``--weight-decays`` value and seed (early stopping on, as in the preset) on the semi-synthetic real-text
ground of ``mmim_health.py`` (real MOSI transcripts, labels and folds as frozen MiniLM-L6 token features,
generated audio and vision), and tabulates validation and test MAE, test Corr and collapses (test MAE
within ``COLLAPSE_MAE`` of the constant predictor's). Seeds whose ``results.json`` exists are read back,
not retrained, so an interrupted sweep resumes. Writes ``mmim_weight_decay.csv``.

Run:
    python benchmarks/mmim_weight_decay.py --seeds 1 2 3 4 5 --out runs/mmim_wd
    python benchmarks/mmim_weight_decay.py --smoke --seeds 1 --weight-decays 1e-3 --out /tmp/mmim_wd
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from mifusion.stats import format_mean_std

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mmim_health import (  # benchmarks/ is not a package: its folder goes on sys.path
    LABEL_CSV,
    _config,
    _write_csv,
)

COLLAPSE_MAE = 0.05
"""A run has collapsed when its test MAE is within this of the constant (training-mean) predictor's."""
ARMS = {"MMIM": (), "MI terms off": ("model.options.alpha=0", "model.options.beta=0")}


def sweep(args: argparse.Namespace) -> list[dict[str, object]]:
    """MMIM vs MI terms off per weight decay and seed; prints the summary table."""
    from mifusion.experiments.pipeline import prepare_data

    records, summary = [], []
    for wd in args.weight_decays:
        for arm, sets in ARMS.items():
            cfg = _config(args, [f"train.weight_decay={wd}", *sets])
            data = prepare_data(cfg)
            train, test = np.asarray(data.dataset["train"].labels), np.asarray(data.dataset["test"].labels)
            constant = float(np.abs(test - train.mean()).mean())
            runs = [_seed_run(cfg, Path(args.out) / f"wd_{wd}" / arm.replace(" ", "_") / f"seed_{s}", s, data)
                    for s in args.seeds]  # fmt: skip
            for s, r in zip(args.seeds, runs):
                records.append({"weight_decay": wd, "arm": arm, "seed": s, "valid_mae": r.valid["mae"],
                                "test_mae": r.test["mae"], "test_corr": r.test["corr"], "best_epoch": r.best_epoch})  # fmt: skip
            test_mae = [r.test["mae"] for r in runs]
            summary.append({
                "weight decay": wd, "arm": arm, "seeds": len(runs),
                "valid MAE": format_mean_std([r.valid["mae"] for r in runs]), "test MAE": format_mean_std(test_mae),
                "test Corr": format_mean_std([r.test["corr"] for r in runs]),
                "collapsed": f"{sum(m >= constant - COLLAPSE_MAE for m in test_mae)}/{len(runs)}",
                "constant's test MAE": f"{constant:.3f}",
            })  # fmt: skip
    _write_csv(records, Path(args.out) / "mmim_weight_decay.csv")
    names = list(summary[0])
    print("| " + " | ".join(names) + " |\n" + "|---" * len(names) + "|")
    for row in summary:
        print("| " + " | ".join(str(row[k]) for k in names) + " |")
    return records


def _seed_run(cfg: object, run_dir: Path, seed: int, data: object) -> Any:
    """Trains one seed, or reads it back when its ``results.json`` exists (an interrupted sweep resumes)."""
    from mifusion.experiments.runner import RunResult, train_one

    done = run_dir / "results.json"
    if done.exists():
        return RunResult(**json.loads(done.read_text(encoding="utf-8"))["run"])
    return train_one(cfg, run_dir, seed, data=data)  # type: ignore[arg-type]


def main(argv: list[str] | None = None) -> list[dict[str, object]]:
    """Entry point; see the module docstring."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=None, help="default 20 (smoke: 4)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--set", nargs="*", default=[], help="extra config overrides, section.key=value")
    ap.add_argument("--out", default="runs/mmim_wd")
    ap.add_argument(
        "--smoke", action="store_true", help="seconds on the built-in synthetic data; not a result"
    )
    ap.add_argument("--weight-decays", nargs="+", type=float, default=[1e-4, 1e-3, 1e-2])
    ap.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3, 4, 5])
    ap.add_argument("--label-csv", default=str(LABEL_CSV), help="the real MOSI label.csv")
    ap.add_argument("--encoder", default=None, help="local text encoder directory (default: MiniLM-L6's)")
    ap.add_argument("--cache", default="runs/claims/cache", help="where the semi ground's features are kept")
    args = ap.parse_args(argv)
    args.epochs = args.epochs or (4 if args.smoke else 20)
    return sweep(args)


if __name__ == "__main__":
    main()
