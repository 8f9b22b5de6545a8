"""``mifusion compare``: runs side by side, and each run against a baseline with the statistics a referee asks for.

Per run: mean ± std over seeds of every metric. Against ``--baseline`` (paired by seed):

* every metric's mean paired difference with its unadjusted 95 % t interval;
* for the primary metric (``--metric``), the family of all runs tested by Holm's step-down method, with
  intervals compatible with its decisions (:func:`mifusion.stats.holm_family`) and a verdict;
* with ``--margin``, TOST equivalence at that margin, fixed before the runs (:func:`mifusion.stats.tost_paired`);
* with ``--bootstrap N``, a hierarchical bootstrap over seeds x test clips from each seed's
  ``test_predictions.csv`` (:func:`mifusion.stats.hierarchical_bootstrap`), so that the test set's sampling
  is in the interval too.

Example:
    >>> from mifusion.stats import paired_by_seed
    >>> diff = paired_by_seed({1: 0.8, 2: 0.9, 3: 0.7}, {1: 0.9, 2: 1.0, 3: 0.75})
    >>> round(diff.mean, 3), diff.n
    (-0.083, 3)
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mifusion import stats
from mifusion.errors import DataError
from mifusion.evaluation.reports import mean_std, metrics_table
from mifusion.metrics import higher_is_better

KEY_METRICS: tuple[str, ...] = ("mae", "corr", "acc7", "acc2_has0", "acc2_non0", "f1_has0", "f1_non0")


@dataclass(frozen=True)
class CompareSettings:
    """What ``mifusion compare`` tests: the primary metric, the family's alpha, an equivalence margin, bootstrap."""

    split: str = "test"
    metric: str = "mae"
    alpha: float = 0.05
    margin: float | None = None
    bootstrap: int = 0


def _runs(run_dir: Path) -> list[dict]:
    path = run_dir / "results.json"
    if not path.exists():
        raise DataError(f"{run_dir}: no results.json; is this a finished run directory?")
    data = json.loads(path.read_text(encoding="utf-8"))
    return data.get("runs") or [data["run"]]


def seed_metrics(run_dir: Path, split: str = "test") -> dict[int, dict[str, float]]:
    """seed -> metrics of ``split`` from a run's ``results.json`` (experiment or single seed)."""
    return {int(r["seed"]): r[split] for r in _runs(run_dir)}


def seed_predictions(run_dir: Path) -> dict[int, tuple[list[str], np.ndarray, np.ndarray]]:
    """seed -> (clip ids, predictions, labels) from each seed's ``test_predictions.csv``."""
    runs = _runs(run_dir)
    multi = len(runs) > 1 or (run_dir / f"seed_{runs[0]['seed']}").is_dir()
    out = {}
    for r in runs:
        path = (run_dir / f"seed_{r['seed']}" if multi else run_dir) / "test_predictions.csv"
        if not path.exists():
            raise DataError(f"{path}: missing; --bootstrap needs every seed's test predictions")
        with path.open(newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        ids = [row["id"] for row in rows]
        pred = np.array([float(row["prediction"]) for row in rows])
        out[int(r["seed"])] = (ids, pred, np.array([float(row["label"]) for row in rows]))
    return out


def bootstrap_against(run: Path, baseline: Path, settings: CompareSettings) -> stats.BootstrapInterval:
    """Seeds x clips bootstrap of ``statistic(run) - statistic(baseline)`` on the shared seeds and clips."""
    statistic = stats.STATISTICS.get(settings.metric)
    if statistic is None:
        raise DataError(f"--bootstrap supports {sorted(stats.STATISTICS)}, not {settings.metric!r}")
    a, b = seed_predictions(run), seed_predictions(baseline)
    seeds = sorted(set(a) & set(b))
    if not seeds:
        raise DataError(f"{run} and {baseline} share no seed; train both with the same --seeds")
    ids = a[seeds[0]][0]
    if any(a[s][0] != ids or b[s][0] != ids for s in seeds):
        raise DataError(f"{run} and {baseline}: test clips differ between seeds or runs; same data needed")
    return stats.hierarchical_bootstrap(
        np.stack([a[s][1] for s in seeds]), np.stack([b[s][1] for s in seeds]), a[seeds[0]][2],
        statistic, n_boot=settings.bootstrap, level=1.0 - settings.alpha, resample=("seeds", "clips"),
    )  # fmt: skip


def _primary_family(
    per_run: dict[str, dict[int, dict[str, float]]], base: dict[int, dict[str, float]], metric: str
) -> list[stats.PairedDifference]:
    diffs = []
    for name, seeds in per_run.items():
        if all(metric in m for m in seeds.values()) and all(metric in m for m in base.values()):
            run_v = {s: m[metric] for s, m in seeds.items()}
            diffs.append(stats.paired_by_seed(run_v, {s: m[metric] for s, m in base.items()}, name))
    return diffs


def compare_runs(
    run_dirs: list[Path], baseline: Path | None = None, settings: CompareSettings | None = None
) -> str:
    """A Markdown report: one mean ± std row per run, then the comparisons to ``baseline`` (module docstring)."""
    cfg = settings or CompareSettings()
    per_run = {str(d): seed_metrics(d, cfg.split) for d in run_dirs}
    rows = [(f"{name} (n={len(seeds)})", mean_std(list(seeds.values()))) for name, seeds in per_run.items()]
    text = f"## {cfg.split}: mean ± std over seeds\n\n{metrics_table(rows)}\n"
    if baseline is None:
        return text
    base = seed_metrics(baseline, cfg.split)
    others = {k: v for k, v in per_run.items() if Path(k) != baseline}
    lines = [f"\n## Paired difference to {baseline} (run - baseline, paired by seed, unadjusted 95 % t interval)\n",
             "| run | metric | difference | 95 % CI | pairs |", "|---|---|---|---|---|"]  # fmt: skip
    for name, seeds in others.items():
        for key in KEY_METRICS:
            if all(key in m for m in seeds.values()) and all(key in m for m in base.values()):
                d = stats.paired_by_seed(
                    {s: m[key] for s, m in seeds.items()}, {s: m[key] for s, m in base.items()}
                )
                lines.append(f"| {name} | {key} | {d.mean:+.3f} | [{d.low:+.3f}, {d.high:+.3f}] | {d.n} |")
    text += "\n".join(lines) + "\n" + _family_section(others, base, baseline, cfg)
    return text


def _family_section(
    others: dict[str, dict[int, dict[str, float]]], base: dict[int, dict[str, float]], baseline: Path,
    cfg: CompareSettings,
) -> str:  # fmt: skip
    family = stats.holm_family(_primary_family(others, base, cfg.metric), cfg.alpha)
    lower = not higher_is_better(cfg.metric)
    words = {"holds": "better than the baseline", "fails": "worse than the baseline",
             "inconclusive": "no difference shown (not evidence of equality)"}  # fmt: skip
    lines = [f"\n## {cfg.metric}: Holm over {len(family)} comparison(s), family-wise alpha {cfg.alpha:g}\n",
             "| run | difference | Holm-compatible interval | Holm p | verdict |", "|---|---|---|---|---|"]  # fmt: skip
    for d in family:
        lines.append(f"| {d.name} | {d.mean:+.4f} | {stats.format_holm_interval(d, 4)} | {d.p_holm:.3g} | "
                     f"{words[stats.verdict(d, lower)]} |")  # fmt: skip
    if cfg.margin is not None:
        lines += [f"\n## {cfg.metric}: TOST equivalence, margin ±{cfg.margin:g} (fixed before the runs)\n"]
        for d in family:
            lines.append(f"- {d.name}: {stats.tost_paired(d.diffs, cfg.margin, cfg.alpha).describe()}")
    if cfg.bootstrap:
        lines += [
            f"\n## {cfg.metric}: hierarchical bootstrap over seeds x test clips ({cfg.bootstrap} replicates)\n"
        ]
        for d in family:
            bs = bootstrap_against(Path(d.name), baseline, cfg)
            lines.append(f"- {d.name}: {bs.estimate:+.4f} [{100 * bs.level:g} % percentile interval "
                         f"{bs.low:+.4f}, {bs.high:+.4f}], bootstrap SE {bs.se:.4f}")  # fmt: skip
    return "\n".join(lines) + "\n"
