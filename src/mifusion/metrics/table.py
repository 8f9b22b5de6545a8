"""Markdown tables of metrics with the has0/non0 pairs side by side."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import cast

#: Column header -> metric names shown in it (joined by " / "), per kind.
COLUMNS: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "mosi": (
        ("MAE", ("mae",)),
        ("Corr", ("corr",)),
        ("Acc-7", ("acc7",)),
        ("Acc-5", ("acc5",)),
        ("Acc-2 has0/non0", ("acc2_has0", "acc2_non0")),
        ("F1 has0/non0", ("f1_has0", "f1_non0")),
    ),
    "sims": (
        ("MAE", ("mae",)),
        ("Corr", ("corr",)),
        ("Acc-2", ("sims_acc2",)),
        ("Acc-3", ("sims_acc3",)),
        ("Acc-5", ("sims_acc5",)),
        ("F1", ("sims_f1",)),
    ),
}
COLUMNS["mosei"] = COLUMNS["mosi"]
_THREE_DECIMALS = {"mae", "corr"}


def _format(name: str, value: float | None) -> str:
    if value is None:
        return "-"
    if math.isnan(value):
        return "NaN"
    return f"{value:.3f}" if name in _THREE_DECIMALS else f"{value:.1f}"


def format_table(rows: Mapping[str, Mapping[str, float]] | Mapping[str, float], kind: str = "mosi") -> str:
    """A Markdown table: one row per entry of ``rows`` (or one unnamed row for a flat dict).

    MAE and Corr get 3 decimals, accuracies and F1 (in percent) 1 decimal; NaN prints as "NaN"
    (undefined, e.g. Corr of constant predictions) and a missing metric as "-".

    Example:
        >>> print(format_table({"mae": 0.7, "corr": 0.8, "acc7": 45.0, "acc5": 50.0,
        ...     "acc2_has0": 82.0, "acc2_non0": 84.3, "f1_has0": 82.1, "f1_non0": 84.2}))
        | MAE | Corr | Acc-7 | Acc-5 | Acc-2 has0/non0 | F1 has0/non0 |
        |---|---|---|---|---|---|
        | 0.700 | 0.800 | 45.0 | 50.0 | 82.0 / 84.3 | 82.1 / 84.2 |
    """
    columns = COLUMNS.get(kind, COLUMNS["mosi"])
    flat = all(not isinstance(v, Mapping) for v in rows.values())
    named = cast(dict[str, Mapping[str, float]], {"": rows} if flat else dict(rows))
    lead = [] if flat else ["Model"]
    header = lead + [title for title, _ in columns]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row_name, metrics in named.items():
        cells = [] if flat else [row_name]
        for _, names in columns:
            cells.append(" / ".join(_format(n, metrics.get(n)) for n in names))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
