"""Metrics with the community's exact conventions: pure functions, an accumulator and a table.

Example:
    >>> from mifusion.metrics import compute_metrics, format_table
    >>> m = compute_metrics([0.9, -1.1, 2.2], [1.0, -1.0, 2.0])
    >>> m["acc7"]
    100.0
"""

from mifusion.metrics.accumulator import (
    KINDS,
    METRICS,
    Metric,
    MetricAccumulator,
    compute_metrics,
    higher_is_better,
    is_better,
)
from mifusion.metrics.table import format_table

__all__ = [
    "KINDS",
    "METRICS",
    "Metric",
    "MetricAccumulator",
    "compute_metrics",
    "format_table",
    "higher_is_better",
    "is_better",
]
