"""``mifusion compare``: mean ± std per metric over seeds, and differences to a baseline paired by seed.

Example:
    >>> diff = paired_difference({1: 0.8, 2: 0.9, 3: 0.7}, {1: 0.9, 2: 1.0, 3: 0.75})
    >>> round(diff.mean, 3), diff.pairs
    (-0.083, 3)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple

import numpy as np

from mifusion.errors import DataError
from mifusion.evaluation.reports import mean_std, metrics_table

KEY_METRICS: tuple[str, ...] = ("mae", "corr", "acc7", "acc2_has0", "acc2_non0", "f1_has0", "f1_non0")


class PairedDifference(NamedTuple):
    """Mean of (run - baseline) over shared seeds with its 95 % t confidence interval."""

    mean: float
    low: float
    high: float
    pairs: int


def seed_metrics(run_dir: Path, split: str = "test") -> dict[int, dict[str, float]]:
    """seed -> metrics of ``split`` from a run's ``results.json`` (experiment or single seed)."""
    path = run_dir / "results.json"
    if not path.exists():
        raise DataError(f"{run_dir}: no results.json; is this a finished run directory?")
    data = json.loads(path.read_text(encoding="utf-8"))
    runs = data.get("runs") or [data["run"]]
    return {int(r["seed"]): r[split] for r in runs}


def paired_difference(run: dict[int, float], baseline: dict[int, float]) -> PairedDifference:
    """Paired by seed; the interval is mean ± t(0.975, n-1) * sd / sqrt(n) (NaN for one pair)."""
    from scipy import stats

    seeds = sorted(set(run) & set(baseline))
    if not seeds:
        raise DataError("no seed is shared with the baseline; train both with the same --seeds")
    diffs = np.array([run[s] - baseline[s] for s in seeds], dtype=float)
    mean = float(diffs.mean())
    if len(diffs) < 2:
        return PairedDifference(mean, float("nan"), float("nan"), 1)
    half = float(stats.t.ppf(0.975, len(diffs) - 1) * diffs.std(ddof=1) / np.sqrt(len(diffs)))
    return PairedDifference(mean, mean - half, mean + half, len(diffs))


def compare_runs(run_dirs: list[Path], baseline: Path | None = None, split: str = "test") -> str:
    """A Markdown report: one mean ± std row per run, then paired differences to ``baseline``."""
    per_run = {str(d): seed_metrics(d, split) for d in run_dirs}
    rows = []
    for name, seeds in per_run.items():
        rows.append((f"{name} (n={len(seeds)})", mean_std(list(seeds.values()))))
    text = f"## {split}: mean ± std over seeds\n\n{metrics_table(rows)}\n"
    if baseline is None:
        return text
    base = seed_metrics(baseline, split)
    lines = [
        f"\n## Paired difference to {baseline} (run - baseline, 95 % t interval, paired by seed)\n",
        "| run | metric | difference | 95 % CI | pairs |",
        "|---|---|---|---|---|",
    ]
    for name, seeds in per_run.items():
        if Path(name) == baseline:
            continue
        for key in KEY_METRICS:
            if all(key in m for m in seeds.values()) and all(key in m for m in base.values()):
                diff = paired_difference(
                    {s: m[key] for s, m in seeds.items()}, {s: m[key] for s, m in base.items()}
                )
                lines.append(
                    f"| {name} | {key} | {diff.mean:+.3f} | [{diff.low:+.3f}, {diff.high:+.3f}] | {diff.pairs} |"
                )
    return text + "\n".join(lines) + "\n"
