"""Statistics of comparisons between trained arms: paired differences, Holm, TOST, hierarchical bootstrap.

The one place that decides how mifusion compares runs (``mifusion compare``, the studies, the baselines
benchmark). Every function is pure; the tests check them against scipy and statsmodels.
"""

from mifusion.stats.bootstrap import STATISTICS, BootstrapInterval, hierarchical_bootstrap
from mifusion.stats.equivalence import Equivalence, tost_paired
from mifusion.stats.multiple import format_holm_interval, holm, holm_family, verdict
from mifusion.stats.paired import (
    Interval,
    PairedDifference,
    format_mean_std,
    mean_std,
    paired_by_seed,
    paired_difference,
    t_interval,
    t_test_p,
)

__all__ = [
    "STATISTICS",
    "BootstrapInterval",
    "Equivalence",
    "Interval",
    "PairedDifference",
    "format_holm_interval",
    "format_mean_std",
    "hierarchical_bootstrap",
    "holm",
    "holm_family",
    "mean_std",
    "paired_by_seed",
    "paired_difference",
    "t_interval",
    "t_test_p",
    "tost_paired",
    "verdict",
]
