"""Results files and tables: per-seed rows, mean +- std, has0/non0 pairs side by side.

Example:
    >>> print(metrics_table([("1", {"mae": 0.71, "acc2_has0": 80.0, "acc2_non0": 82.5})]))
    | run | mae | acc2 has0/non0 |
    |---|---|---|
    | 1 | 0.710 | 80.00 / 82.50 |
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mifusion.writers import atomic_write_text, write_json, write_rows_csv

PAIRED = ("acc2", "f1")
HIDDEN = frozenset({"loss"})


def _columns(metrics: Mapping[str, Any]) -> list[str]:
    cols: list[str] = []
    for key in metrics:
        if key in HIDDEN:
            continue
        base = key.rsplit("_", 1)[0]
        if base in PAIRED and key.endswith(("_has0", "_non0")):
            if base not in cols:
                cols.append(base)
        else:
            cols.append(key)
    return cols


def _fmt(value: Any) -> str:
    if isinstance(value, Mapping):
        return f"{_fmt(value['mean'])} ± {_fmt(value['std'])}"
    return f"{value:.3f}" if abs(value) < 10 else f"{value:.2f}"


def _cell(metrics: Mapping[str, Any], col: str) -> str:
    if col in metrics:
        return _fmt(metrics[col])
    has0, non0 = metrics.get(f"{col}_has0"), metrics.get(f"{col}_non0")
    if has0 is None or non0 is None:
        return ""
    return f"{_fmt(has0)} / {_fmt(non0)}"


def metrics_table(rows: Sequence[tuple[str, Mapping[str, Any]]]) -> str:
    """A Markdown table, one row per (name, metrics); values may be floats or {'mean','std'}."""
    cols = _columns(rows[0][1]) if rows else []
    header = ["run", *(c if c not in PAIRED else f"{c} has0/non0" for c in cols)]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join([name, *(_cell(m, c) for c in cols)]) + " |" for name, m in rows]
    return "\n".join(lines)


def write_run_results(run_dir: Path, result: Any, test: Any) -> None:
    """Writes ``results.json``, ``results.md`` and ``test_predictions.csv`` of one seed."""
    write_json(run_dir / "results.json", {"run": dataclasses.asdict(result)})
    table = metrics_table([("valid", result.valid), ("test", result.test)])
    atomic_write_text(
        run_dir / "results.md",
        f"# Run seed {result.seed}\n\nBest epoch {result.best_epoch} of {result.epochs_run} "
        f"(selected on validation); wall time {result.wall_seconds:.1f} s.\n\n{table}\n",
    )
    rows = [
        {"id": i, "prediction": float(p), "label": float(t)}
        for i, p, t in zip(test.ids, test.prediction, test.label)
    ]
    write_rows_csv(run_dir / "test_predictions.csv", rows)


def mean_std(rows: Sequence[Mapping[str, float]]) -> dict[str, dict[str, float]]:
    """Mean and sample standard deviation (ddof=1; 0 for one row) of every key all rows share.

    Example:
        >>> mean_std([{"mae": 0.7}, {"mae": 0.9}])["mae"]["mean"]
        0.8
    """
    from mifusion.stats import mean_std as _mean_std

    keys = [k for k in rows[0] if all(k in r for r in rows)] if rows else []
    out = {}
    for key in keys:
        mean, std = _mean_std([r[key] for r in rows])
        out[key] = {"mean": mean, "std": std}
    return out


def seed_table(
    per_seed: Sequence[tuple[Any, Mapping[str, Any]]], summary: Mapping[str, Any] | None = None
) -> str:
    """Each seed's row plus the ``mean ± std`` row (``summary``, or :func:`mean_std` of the rows)."""
    rows: list[tuple[str, Mapping[str, Any]]] = [(f"seed {s}", m) for s, m in per_seed]
    rows.append(("mean ± std", summary if summary is not None else mean_std([m for _, m in per_seed])))
    return metrics_table(rows)


def experiment_table(result: Any, split: str = "test") -> str:
    """Each seed's row plus the mean ± std row."""
    return seed_table([(r.seed, getattr(r, split)) for r in result.runs], result.summary[split])


def write_experiment_results(out_dir: Path, result: Any) -> None:
    """Writes the experiment's ``results.json`` and ``results.md`` (test and validation tables)."""
    write_json(
        out_dir / "results.json",
        {"runs": [dataclasses.asdict(r) for r in result.runs], "summary": result.summary},
    )
    text = (
        f"# Results ({len(result.runs)} seed(s))\n\nTest split, evaluated once with the checkpoint "
        f"selected on validation:\n\n{experiment_table(result, 'test')}\n\n"
        f"Validation (selection) split:\n\n{experiment_table(result, 'valid')}\n"
    )
    atomic_write_text(out_dir / "results.md", text)
