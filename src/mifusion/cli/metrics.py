"""`mifusion metrics PREDICTIONS.csv`: scores any model's output with the community's conventions."""

from __future__ import annotations

import argparse
import csv
import math
from pathlib import Path
from typing import Any

from mifusion.cli.common import add_command, print_json
from mifusion.errors import DataError

REQUIRED_COLUMNS = ("id", "prediction", "label")
EXAMPLES = """\
  mifusion metrics runs/mmim/test_predictions.csv
  mifusion metrics preds.csv --json
  mifusion metrics sims_preds.csv --kind sims

  The CSV needs a header with the columns id, prediction, label (one row per sample), e.g.
    id,prediction,label
    c7UH_rxdZv4$_$1,-2.1,-2.8
"""


def read_predictions(path: str | Path) -> tuple[list[str], list[float], list[float]]:
    """Reads a predictions CSV (columns id, prediction, label) -> ids, predictions, labels.

    Raises:
        DataError: a one-line message naming the file, row and column, and the fix.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file; pass a CSV with columns id, prediction, label")
    ids: list[str] = []
    columns: dict[str, list[float]] = {"prediction": [], "label": []}
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            header = [h.strip() for h in reader.fieldnames or []]
            missing = [c for c in REQUIRED_COLUMNS if c not in header]
            if missing:
                raise DataError(
                    f"{path}: row 1 (header) lacks column(s) {', '.join(missing)}; "
                    "the first line must name the columns id, prediction, label"
                )
            reader.fieldnames = header
            for row_number, row in enumerate(reader, start=2):
                for column in ("prediction", "label"):
                    raw = row.get(column)
                    try:
                        value = float(raw)  # type: ignore[arg-type]
                    except (TypeError, ValueError):
                        value = math.nan
                    if not math.isfinite(value):
                        raise DataError(
                            f"{path}: row {row_number}, column {column!r} is {raw!r}; "
                            "it must be a finite number (fix or remove the row)"
                        )
                    columns[column].append(value)
                ids.append(row.get("id") or "")
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a UTF-8 text CSV; export the predictions as a UTF-8 CSV") from None
    except csv.Error as err:
        raise DataError(
            f"{path}: malformed CSV ({err}); export it again with a standard CSV writer"
        ) from None
    if not ids:
        raise DataError(f"{path}: row 2: no data rows after the header; write one row per sample")
    return ids, columns["prediction"], columns["label"]


def _run(args: argparse.Namespace) -> int:
    from mifusion.metrics import compute_metrics, format_table

    _, predictions, labels = read_predictions(args.predictions)
    metrics = compute_metrics(predictions, labels, kind=args.kind)
    if args.json:
        print_json({k: None if math.isnan(v) else v for k, v in metrics.items()} | {"n": len(labels)})
    else:
        print(f"{args.predictions}: {len(labels)} samples ({args.kind} conventions)")
        print(format_table(metrics, args.kind))
        undefined = [k for k, v in metrics.items() if math.isnan(v)]
        if undefined:
            print(
                f"NaN = undefined: {', '.join(undefined)} (constant predictions/labels or no non-zero labels)"
            )
    return 0


def register(sub: Any) -> None:
    """Registers `mifusion metrics`."""
    parser = add_command(
        sub,
        "metrics",
        "Score a predictions CSV (id, prediction, label) with MAE, Corr, Acc-7/5 and Acc-2/F1 has0/non0.",
        EXAMPLES,
        _run,
    )
    parser.add_argument("predictions", help="CSV with columns id, prediction, label")
    parser.add_argument("--json", action="store_true", help="print the metrics as JSON (NaN as null)")
    parser.add_argument(
        "--kind",
        choices=("mosi", "mosei", "sims"),
        default="mosi",
        help="label conventions: mosi/mosei ([-3, 3]) or sims ([-1, 1]) (default: mosi)",
    )
