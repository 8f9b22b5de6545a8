"""The studies' reports: arm tables, Holm-corrected comparisons with TOST at fixed margins, forest plots, hashes."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mifusion.metrics import higher_is_better
from mifusion.stats import (
    PairedDifference,
    format_holm_interval,
    format_mean_std,
    holm_family,
    paired_difference,
    tost_paired,
    verdict,
)
from mifusion.writers import atomic_write_bytes, atomic_write_text
from studies.common import ARMS_RUN, METRICS


def provenance_table(out: Path) -> str:
    """Markdown: every arm under ``out`` this process ran or reused, with its config and code hashes."""
    lines = ["| arm | config hash | code hash |", "|---|---|---|"]
    arms = sorted((d.name, p) for d, p in ARMS_RUN.items() if d.parent == Path(out).resolve())
    lines += [f"| {label} | {p.config_hash} | {p.code_hash} |" for label, p in arms]
    return "\n".join(lines)


def arm_table(results: dict[str, list[dict[str, float]]]) -> str:
    """Markdown: mean +- std (ddof=1) of every metric per arm."""
    lines = ["| arm | seeds | " + " | ".join(METRICS) + " |", "|---" * (len(METRICS) + 2) + "|"]
    for label, rows in results.items():
        cells = [format_mean_std([r[k] for r in rows]) if all(k in r for r in rows) else "" for k in METRICS]
        lines.append(f"| {label} | {len(rows)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def baseline_table(rows: dict[str, dict[str, float]]) -> str:
    """Markdown rows for deterministic baselines (one value each)."""
    lines = ["| baseline | " + " | ".join(METRICS) + " |", "|---" * (len(METRICS) + 1) + "|"]
    for label, m in rows.items():
        lines.append(f"| {label} | " + " | ".join(f"{m[k]:.3f}" if k in m else "" for k in METRICS) + " |")
    return "\n".join(lines)


def comparisons(
    results: dict[str, list[dict[str, float]]], pairs: Sequence[tuple[str, str]], metric: str = "mae"
) -> list[PairedDifference]:
    """Holm-corrected paired differences ``treatment - base`` of ``metric`` for (treatment, base) pairs."""
    diffs = [
        paired_difference([r[metric] for r in results[t]], [r[metric] for r in results[b]], f"{t} vs {b}")
        for t, b in pairs
    ]
    return holm_family(diffs)


MARGINS = {"mae": 0.03, "acc2_non0": 1.0, "auroc": 0.02}
"""TOST equivalence margins, fixed before any study ran: what "no practical difference" means per metric
(MAE on the -3..3 label scale; Acc-2 in percentage points; AUROC). A metric without one gets no TOST."""


def comparison_table(diffs: Sequence[PairedDifference], metric: str = "mae") -> str:
    """Markdown: mean difference, unadjusted and Holm-compatible 95 % intervals, Holm p, verdict, and TOST.

    "equivalent" is claimed only where TOST at the metric's margin (:data:`MARGINS`) says so.
    """
    lower = not higher_is_better(metric)
    margin = MARGINS.get(metric)
    tost_head = f"TOST ±{margin:g}" if margin is not None else "TOST"
    lines = [f"| comparison ({metric}, treatment - base) | n | mean diff | 95 % CI | Holm CI | Holm p | verdict | {tost_head} |",
             "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for d in diffs:
        eq = tost_paired(d.diffs, margin) if margin is not None and d.n > 1 else None
        tost = "" if eq is None else f"{'equivalent' if eq.equivalent else 'not shown'} (p {eq.p:.2g})"
        lines.append(
            f"| {d.name} | {d.n} | {d.mean:+.4f} | [{d.low:+.4f}, {d.high:+.4f}] | "
            f"{format_holm_interval(d, 4)} | {d.p_holm:.3g} | {verdict(d, lower)} | {tost} |"
        )
    return "\n".join(lines)


def publish(report: str, out: Path, tiny: bool) -> int:
    """Writes ``out/report.md`` atomically (tiny runs marked as not results), prints it; returns exit code 0."""
    report = report.rstrip("\n") + "\n\n## Arms: config and code hashes\n\n" + provenance_table(out) + "\n"
    if tiny:
        report = "**TINY MODE: smoke test only, not a result.**\n\n" + report
    atomic_write_text(Path(out) / "report.md", report)
    print(report)
    return 0


def forest_plot(diffs: Sequence[PairedDifference], path: Path, metric: str = "mae") -> None:
    """PNG: each comparison's mean difference, its unadjusted 95 % interval (grey) and its Holm-compatible
    interval (blue; a half-line, when Holm proves only the sign, runs to the plot's edge with an arrow)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    finite = [v for d in diffs for v in (d.low, d.high, d.low_holm, d.high_holm, d.mean) if np.isfinite(v)]
    lo, hi = min([0.0, *finite]), max([0.0, *finite])
    pad = 0.08 * (hi - lo or 1.0)
    fig, ax = plt.subplots(figsize=(7, 0.3 * len(diffs) + 1.2))
    for i, d in enumerate(diffs):
        ax.plot([d.low, d.high], [i + 0.15, i + 0.15], color="0.6", linewidth=1)
        a = d.low_holm if np.isfinite(d.low_holm) else lo - pad
        b = d.high_holm if np.isfinite(d.high_holm) else hi + pad
        ax.plot([a, b], [i, i], color="tab:blue")
        for end, finite_end, marker in (
            (a, np.isfinite(d.low_holm), "<"),
            (b, np.isfinite(d.high_holm), ">"),
        ):
            if not finite_end and np.isfinite(d.mean):
                ax.plot([end], [i], marker, color="tab:blue", markersize=5)
        ax.plot([d.mean], [i], "o", color="tab:blue")
    ax.set_xlim(lo - 1.5 * pad, hi + 1.5 * pad)
    ax.axvline(0.0, color="grey", linestyle="--", linewidth=1)
    ax.set_yticks(range(len(diffs)), [d.name for d in diffs], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel(f"{metric}: treatment - base (mean; Holm-compatible interval, blue; unadjusted 95 %, grey)")
    fig.tight_layout()
    # nothing clipped (long labels, short figures); written atomically
    atomic_write_bytes(path, lambda handle: fig.savefig(handle, format="png", dpi=150, bbox_inches="tight"))
    plt.close(fig)
