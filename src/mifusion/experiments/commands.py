"""Library side of ``mifusion evaluate`` and ``mifusion predict``, over every seed of a run directory.

A run directory is one seed folder (``best.pt`` inside) or a multi-seed experiment (``seed_*`` folders):
``evaluate`` gives each seed's row plus mean ± std (the trainer's table), ``--robustness`` the mean ± std
over seeds of every condition's metrics and deltas, and ``predict`` the mean prediction over seeds (an
ensemble) unless one seed is chosen.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mifusion.data.dataset import MultimodalDataset
from mifusion.errors import DataError
from mifusion.evaluation.evaluate import SplitPredictions, compute
from mifusion.evaluation.reports import mean_std, metrics_table, seed_table
from mifusion.experiments.run import TrainedRun, load_run, seed_dirs
from mifusion.writers import atomic_write_text, write_rows_csv

DELTA_METRICS = ("mae", "corr", "acc7")


@dataclass
class Report:
    """A command's output: text for the terminal and the same content as JSON-able data."""

    text: str
    data: dict[str, Any]


def load_data(run: TrainedRun, data_path: str | None) -> MultimodalDataset:
    """The run's own data (re-read or regenerated) or ``data_path`` read with the run's format.

    Raises:
        DataError: the data lacks a modality the run was trained on.
    """
    from mifusion.experiments.pipeline import load_raw

    if data_path is None:
        return load_raw(run.cfg)
    from mifusion.data.io import load_dataset

    dataset = load_dataset(data_path, "auto", strict=run.cfg.data.strict)
    have = set(dataset.modalities) | ({"text"} if any(s.raw_text for s in dataset) else set())
    missing = [m for m in run.spec.modalities if m not in have]
    if missing:
        raise DataError(
            f"{data_path}: has no {missing[0]}, but the run in {run.run_dir} was trained on "
            f"{', '.join(run.spec.modalities)}; give data with every one of them"
        )
    return dataset


def finite_predictions(pred: SplitPredictions, run: TrainedRun, split: str) -> SplitPredictions:
    """``pred`` when every prediction is finite; DataError naming the seed's checkpoint otherwise."""
    bad = int((~np.isfinite(pred.prediction)).sum())
    if bad:
        raise DataError(
            f"{run.run_dir / 'best.pt'}: predicts {bad} non-finite value(s) of {len(pred.prediction)} on the "
            f"{split} split (the weights or the data hold NaN/inf); retrain this run or check the data"
        )
    return pred


def load_runs(run_dir: Path, seed: int | None = None) -> list[TrainedRun]:
    """Every trained seed of ``run_dir`` (or only ``seed``), restored."""
    runs = [load_run(folder) for folder in seed_dirs(run_dir)]
    if seed is None:
        return runs
    chosen = [r for r in runs if r.seed == seed]
    if not chosen:
        raise DataError(
            f"{run_dir}: no seed {seed}; it has seeds {[r.seed for r in runs]} (drop --seed or pick one)"
        )
    return chosen


def evaluate_run(
    run_dir: Path, data_path: str | None, split: str = "test", robustness: bool = False
) -> Report:
    """Each seed's metrics on ``split`` plus mean ± std; with ``robustness`` one row per perturbation."""
    runs = load_runs(Path(run_dir))
    raw = load_data(runs[0], data_path)
    if robustness:
        return _robustness(Path(run_dir), runs, raw, split)
    per_seed = []
    for run in runs:
        pred = finite_predictions(run.predict_split(run.prepare(raw)[split]), run, split)
        per_seed.append((run.seed, compute(pred.prediction, pred.label, run.spec)))
    summary = mean_std([m for _, m in per_seed])
    data = {
        "split": split,
        "metrics": {k: v["mean"] for k, v in summary.items()},
        "seeds": [{"seed": s, **m} for s, m in per_seed],
        "summary": summary,
    }
    return Report(seed_table(per_seed, summary), data)


def _robustness(run_dir: Path, runs: list[TrainedRun], raw: MultimodalDataset, split: str) -> Report:
    """Every condition on every seed: per-seed files in each seed folder; over seeds, mean ± std."""
    from mifusion.evaluation.robustness import conditions

    per_seed: list[dict[str, Any]] = []
    for run in runs:
        prepared = run.prepare(raw)[split]
        intact: dict[str, float] = {}
        rows: list[dict[str, Any]] = []
        for cond in conditions(run.spec.modalities):
            pred = run.predict_split(prepared, cond.transform)
            metrics = compute(pred.prediction, pred.label, run.spec)
            intact = intact or metrics
            delta = {f"delta_{k}": metrics[k] - intact[k] for k in DELTA_METRICS if k in metrics}
            rows.append(
                {"seed": run.seed, "condition": cond.name, "definition": cond.kind, **metrics, **delta}
            )
        if len(runs) > 1:
            _write_robustness(run.run_dir / "robustness", rows, split)
        per_seed += rows
    table, summary = _write_robustness(run_dir / "robustness", per_seed, split)
    means = [
        {"condition": c, "definition": d, **{k: v["mean"] for k, v in s.items()}} for (c, d), s in summary
    ]
    text = f"{table}\n\n{len(runs)} seed(s), mean ± std over seeds; written to {run_dir / 'robustness'}"
    data = {"split": split, "seeds": [r.seed for r in runs], "conditions": means, "per_seed": per_seed}
    return Report(text, data)


Summary = list[tuple[tuple[str, str], dict[str, dict[str, float]]]]


def _write_robustness(out: Path, rows: list[dict[str, Any]], split: str) -> tuple[str, Summary]:
    """Writes ``robustness.{csv,md,png}`` for ``rows`` of one or more seeds; returns the table."""
    seeds = sorted({r["seed"] for r in rows}, key=str)
    summary: Summary = []
    for key in dict.fromkeys((r["condition"], r["definition"]) for r in rows):
        group = [r for r in rows if (r["condition"], r["definition"]) == key]
        summary.append((key, mean_std([{k: v for k, v in r.items() if isinstance(v, float)} for r in group])))
    write_rows_csv(out / "robustness.csv", rows)
    _plot(summary, out / "robustness.png")
    cells = [
        (f"{c} ({d})", s if len(seeds) > 1 else {k: v["mean"] for k, v in s.items()}) for (c, d), s in summary
    ]
    table = metrics_table(cells)
    what = f"mean ± std over seeds {seeds}" if len(seeds) > 1 else f"seed {seeds[0]}"
    atomic_write_text(out / "robustness.md", f"# Robustness ({split}, {what})\n\n{table}\n")
    return table, summary


def _plot(summary: Summary, path: Path) -> None:
    from mifusion.evaluation.plots import _pyplot, _save

    plt = _pyplot()
    rest = [(f"{c} ({d})", s.get("delta_mae", {"mean": 0.0, "std": 0.0})) for (c, d), s in summary[1:]]
    fig, ax = plt.subplots(figsize=(6, 0.3 * len(rest) + 1.5))
    ax.barh(
        [n for n, _ in rest],
        [v["mean"] for _, v in rest],
        xerr=[v["std"] for _, v in rest],
        color=[
            "tab:blue" if "masked" in n else "tab:orange" if "zeroed" in n else "tab:gray" for n, _ in rest
        ],
    )
    from matplotlib.patches import Patch

    kinds = [("tab:blue", "modality masked out"), ("tab:orange", "features zeroed"), ("tab:gray", "other")]
    ax.legend(handles=[Patch(color=c, label=n) for c, n in kinds], loc="upper left", bbox_to_anchor=(1.02, 1))
    ax.axvline(0.0, color="black", linewidth=0.8)
    ax.set(
        xlabel="MAE change vs intact (label units; mean ± std over seeds; higher = worse)",
        title="Robustness to missing or perturbed modalities",
    )
    _save(fig, path)
    plt.close(fig)


def predict_file(
    run_dir: Path, data_path: str, out: Path, split: str = "test", seed: int | None = None
) -> int:
    """Writes ``id,prediction[,label]`` for ``data_path[split]`` to ``out`` atomically; returns N.

    The prediction is the mean over the run's seeds (an ensemble), or the chosen ``seed``'s alone.
    """
    runs = load_runs(Path(run_dir), seed)
    dataset = load_data(runs[0], data_path)
    preds = [finite_predictions(run.predict_split(run.prepare(dataset)[split]), run, split) for run in runs]
    prediction = np.mean([p.prediction for p in preds], axis=0)  # (N,)
    first = preds[0]
    labelled = bool(np.isfinite(first.label).all())
    rows: list[dict[str, Any]] = []
    for i, p, t in zip(first.ids, prediction, first.label):
        rows.append({"id": i, "prediction": float(p), **({"label": float(t)} if labelled else {})})
    write_rows_csv(out, rows)
    return len(rows)
