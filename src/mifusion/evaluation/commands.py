"""Library side of ``mifusion evaluate`` and ``mifusion predict``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mifusion.data.dataset import MultimodalDataset
from mifusion.evaluation.evaluate import compute
from mifusion.evaluation.reports import metrics_table
from mifusion.evaluation.run import TrainedRun, load_run
from mifusion.training.checkpoint import atomic_write_text
from mifusion.training.run_dir import write_rows_csv


@dataclass
class Report:
    """A command's output: text for the terminal and the same content as JSON-able data."""

    text: str
    data: dict[str, Any]


def load_data(run: TrainedRun, data_path: str | None) -> MultimodalDataset:
    """The run's own data (re-read or regenerated) or ``data_path`` read with the run's format."""
    from mifusion.training.pipeline import load_raw

    if data_path is None:
        return load_raw(run.cfg)
    from mifusion.data.io import load_dataset

    return load_dataset(data_path, "auto", strict=run.cfg.data.strict)


def evaluate_run(
    run_dir: Path, data_path: str | None, split: str = "test", robustness: bool = False
) -> Report:
    """The metric table of ``run_dir`` on ``split``; with ``robustness`` one row per perturbation."""
    run = load_run(run_dir)
    prepared = run.prepare(load_data(run, data_path))[split]
    if not robustness:
        pred = run.predict_split(prepared)
        metrics = compute(pred.prediction, pred.label, run.spec)
        return Report(metrics_table([(split, metrics)]), {"split": split, "metrics": metrics})
    from mifusion.evaluation.robustness import conditions

    rows: list[dict[str, Any]] = []
    intact: dict[str, float] = {}
    for cond in conditions(run.spec.modalities):
        pred = run.predict_split(prepared, cond.transform)
        metrics = compute(pred.prediction, pred.label, run.spec)
        intact = intact or metrics
        delta = {f"delta_{k}": metrics[k] - intact[k] for k in ("mae", "corr", "acc7") if k in metrics}
        rows.append({"condition": cond.name, "definition": cond.kind, **metrics, **delta})
    out = run.run_dir / "robustness"
    write_rows_csv(out / "robustness.csv", rows)
    _plot(rows, out / "robustness.png")
    table = metrics_table(
        [
            (f"{r['condition']} ({r['definition']})", {k: v for k, v in r.items() if isinstance(v, float)})
            for r in rows
        ]
    )
    atomic_write_text(out / "robustness.md", f"# Robustness ({split})\n\n{table}\n")
    return Report(table + f"\n\nwritten to {out}", {"split": split, "conditions": rows})


def _plot(rows: list[dict[str, Any]], path: Path) -> None:
    from mifusion.evaluation.plots import _pyplot, _save

    plt = _pyplot()
    names = [f"{r['condition']} ({r['definition']})" for r in rows[1:]]
    values = [r.get("delta_mae", 0.0) for r in rows[1:]]
    fig, ax = plt.subplots(figsize=(6, 0.3 * len(names) + 1.5))
    ax.barh(
        names,
        values,
        color=["tab:blue" if "masked" in n else "tab:orange" if "zeroed" in n else "tab:gray" for n in names],
    )
    ax.set(xlabel="MAE change vs intact (higher = worse)", title="Robustness")
    _save(fig, path)
    plt.close(fig)


def predict_file(run_dir: Path, data_path: str, out: Path, split: str = "test") -> int:
    """Writes ``id,prediction[,label]`` for ``data_path[split]`` to ``out`` atomically; returns N."""
    run = load_run(run_dir)
    dataset = load_data(run, data_path)
    prepared = run.prepare(dataset)[split]
    pred = run.predict_split(prepared)
    labelled = bool(np.isfinite(pred.label).all())
    rows: list[dict[str, Any]] = []
    for i, p, t in zip(pred.ids, pred.prediction, pred.label):
        rows.append({"id": i, "prediction": float(p), **({"label": float(t)} if labelled else {})})
    write_rows_csv(out, rows)
    return len(rows)
