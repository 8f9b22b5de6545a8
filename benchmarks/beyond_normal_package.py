"""The benchmark-mi package's own neural estimators on its 40 Beyond-Normal tasks, as reference rows.

Runs in a separate environment that has the package (it needs JAX), never in mifusion's:

    python -m venv /tmp/bmi-venv
    /tmp/bmi-venv/bin/pip install benchmark-mi jax==0.4.25 jaxlib==0.4.25
    JAX_PLATFORMS=cpu /tmp/bmi-venv/bin/python benchmarks/beyond_normal_package.py --out bmi.json

Budget, the same as mifusion's Beyond-Normal suite: per task and seed ``--samples`` rows from the package's
task (default 10,000), the package's own 50 / 50 train / test split (so 5,000 and 5,000, as mifusion's
5,000 training and 5,000 held-out rows), ``--steps`` training steps (1,000) of batch ``--batch-size`` (64).
Everything else is the package's default (critic MLP (16, 8), Adam lr 0.1, standardised inputs). The JSON
is what ``mifusion estimators check --reference-json`` reads: a list of {task, estimator, seed, estimate,
seconds}.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--steps", type=int, default=1_000)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--tasks", nargs="+", help="task ids (default: all 40)")
    parser.add_argument("--estimators", nargs="+", default=["mine", "infonce", "nwj", "dv"])
    args = parser.parse_args()

    import bmi
    from bmi.benchmark.task_list import BENCHMARK_TASKS_LIST

    classes = {
        "mine": bmi.estimators.MINEEstimator,
        "infonce": bmi.estimators.InfoNCEEstimator,
        "nwj": bmi.estimators.NWJEstimator,
        "dv": bmi.estimators.DonskerVaradhanEstimator,
    }
    tasks = [t for t in BENCHMARK_TASKS_LIST if not args.tasks or t.id in args.tasks]
    records = []
    for task in tasks:
        for seed in range(args.seeds):
            x, y = task.sample(args.samples, seed=seed)
            for name in args.estimators:
                estimator = classes[name](
                    batch_size=args.batch_size, max_n_steps=args.steps, verbose=False, seed=seed
                )
                start = time.perf_counter()
                try:
                    value = float(estimator.estimate(x, y))
                except Exception as err:
                    print(f"{task.id} {name}: {err}", flush=True)
                    value = math.nan
                seconds = time.perf_counter() - start
                records.append(
                    {
                        "task": task.id,
                        "estimator": f"benchmark-mi {name}",
                        "seed": seed,
                        "estimate": value if math.isfinite(value) else None,
                        "seconds": seconds,
                    }
                )
                print(f"{task.id:<50} {name:<8} {value:.4f} ({seconds:.1f} s)", flush=True)
                tmp = args.out + ".tmp"
                with open(tmp, "w", encoding="utf-8") as handle:
                    json.dump(records, handle, indent=1)
                os.replace(tmp, args.out)


if __name__ == "__main__":
    main()
