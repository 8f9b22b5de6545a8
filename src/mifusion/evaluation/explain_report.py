"""The reports of ``mifusion explain RUN_DIR``: per seed (scores, samples, attribution, plot) and a summary.

Every seed folder gets ``explain/report.md``, ``explain/scores.csv`` and ``explain/scores.png``; a
multi-seed run directory also gets ``explain/report.md`` with each seed's AUROC and the mean ± std per
scorer (see :mod:`mifusion.evaluation.explain` for the scorers). The command over a run directory is
:func:`mifusion.experiments.explain.explain_run`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from mifusion.evaluation.explain import Explanation
from mifusion.evaluation.reports import mean_std
from mifusion.writers import atomic_write_text

SCORER_TITLES = {
    "penalty": "the penalty's critic as trained",
    "refit": "statistics network fitted after training on the frozen training-split representations",
}


def auroc_rows(per_seed: list[tuple[Any, dict[str, Explanation]]]) -> list[str]:
    """Markdown rows: one per (seed, scorer), then the mean ± std per scorer."""
    scorers = list(per_seed[0][1])
    modalities = [m for m in per_seed[0][1][scorers[0]].swapped]
    lines = [
        "| seed | scorer | AUROC all | " + " | ".join(f"{m} swapped" for m in modalities) + " |",
        "|---|---|---|" + "---|" * len(modalities),
    ]
    for seed, exps in per_seed:
        for name, exp in exps.items():
            a = exp.auroc()
            lines.append(
                f"| {seed} | {name} | {a['all']:.3f} | "
                + " | ".join(f"{a[m]:.3f}" for m in modalities)
                + " |"
            )
    for name in scorers:
        summary = mean_std([exps[name].auroc() for _, exps in per_seed])
        cells = [f"{summary[k]['mean']:.3f} ± {summary[k]['std']:.3f}" for k in ("all", *modalities)]
        lines.append(f"| mean ± std | {name} | " + " | ".join(cells) + " |")
    return lines


def seed_report(
    title: str, exps: dict[str, Explanation], texts: list[str] | None, labels: np.ndarray, top: int
) -> str:
    """A seed's Markdown report; samples are ranked by the refitted network when present."""
    rank_by = "refit" if "refit" in exps else next(iter(exps))
    exp = exps[rank_by]
    order = np.argsort(-exp.intact)

    def sample_line(i: int) -> str:
        text = texts[i] if texts is not None else ""
        return f"| {exp.ids[i]} | {exp.intact[i]:.3f} | {float(labels[i]):+.2f} | {text[:80]} |"

    head = "| id | score | label | text |\n|---|---|---|---|"
    lines = [
        f"# Consistency report ({title}, {len(exp.ids)} test samples)\n",
        "Scores: higher = the sample's modalities look jointly drawn. Scorers: "
        + "; ".join(f"`{n}` = {SCORER_TITLES[n]}" for n in exps)
        + ".\n",
        f"## Most consistent (`{rank_by}` score)\n",
        head,
        *(sample_line(i) for i in order[:top]),
        f"\n## Least consistent (`{rank_by}` score)\n",
        head,
        *(sample_line(i) for i in order[::-1][:top]),
        "\n## Per-modality attribution (mean score drop when the modality is swapped with another sample's)\n",
        "| scorer | modality | score drop | AUROC intact vs swapped |",
        "|---|---|---|---|",
    ]
    for name, e in exps.items():
        attribution, aurocs = e.attribution(), e.auroc()
        lines += [f"| {name} | {m} | {attribution[m]:+.3f} | {aurocs[m]:.3f} |" for m in attribution]
    lines += [f"\nAUROC over all swaps, `{n}`: {e.auroc()['all']:.3f}" for n, e in exps.items()]
    lines.append("\n![scores](scores.png)\n")
    return "\n".join(lines)


def write_seed_files(out: Path, exps: dict[str, Explanation], report: str) -> None:
    """Writes ``out/{report.md,scores.csv,scores.png}`` (one histogram panel per scorer)."""
    from mifusion.evaluation.plots import _pyplot, _save
    from mifusion.writers import write_rows_csv

    first = next(iter(exps.values()))
    rows: list[dict[str, Any]] = []
    for k, sample in enumerate(first.ids):
        row: dict[str, Any] = {"id": sample}
        for name, e in exps.items():
            row[f"{name}_score"] = float(e.intact[k])
            row.update({f"{name}_swapped_{m}": float(v[k]) for m, v in e.swapped.items()})
        rows.append(row)
    write_rows_csv(out / "scores.csv", rows)
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(exps), figsize=(6 * len(exps), 4), squeeze=False)
    for ax, (name, e) in zip(axes[0], exps.items()):
        ax.hist(e.intact, bins=30, alpha=0.6, label="intact")
        for m, s in e.swapped.items():
            ax.hist(s, bins=30, alpha=0.4, label=f"{m} swapped")
        ax.set(xlabel=f"{name} score", ylabel="samples", title=f"{name}: AUROC {e.auroc()['all']:.3f}")
        ax.legend(fontsize=7)
    _save(fig, out / "scores.png")
    plt.close(fig)
    atomic_write_text(out / "report.md", report)
